"""Which failures are worth retrying in place, and which go through the retry tiers.

Permanent (`PermanentError`): the message itself is wrong; it is dead-lettered at once.

Transient: the infrastructure hiccupped (connection lost, serialization failure,
deadlock, lock or statement timeout, too many connections, broker unreachable). The same
message will very likely apply once it passes, so the consumer backs off and retries
without committing the offset and without dead-lettering. Everything else is a failure
of this message (a bug, bad data, a downstream refusal): it goes to the group's delayed
retry tiers and then to its dead-letter topic, and the partition moves on.
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
from aiokafka.errors import KafkaError, KafkaTimeoutError
from sqlalchemy import exc as sa_exc

# SQLSTATE classes and codes that say "try again", not "this is wrong"
# (https://www.postgresql.org/docs/current/errcodes-appendix.html)
_TRANSIENT_CLASSES = ("08", "53", "57P")  # connection, insufficient resources, shutdown
_TRANSIENT_CODES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available
        "57014",  # query_canceled (statement_timeout)
        "25006",  # read_only_sql_transaction (failover to a replica in progress)
    }
)


class TransientError(Exception):
    """Raise from a handler when a dependency is briefly unavailable: retried in place."""


class PermanentError(Exception):
    """Raise from a handler when the message can never apply, however often it is tried
    (it contradicts itself, or its envelope): dead-lettered at once (reason `invalid`,
    the error's text as `dlq-error`), without the retry tiers."""


class HandlerTimeout(Exception):
    """A handler ran past its time limit: a failure of this message, not of the platform."""


def is_transient(error: BaseException) -> bool:  # noqa: C901  one flat test per transient fault kind; a table of isinstance checks reads best in one place
    """Whether `error` (or anything in its cause chain) is a passing infrastructure fault."""
    for exc in _chain(error):
        if isinstance(exc, HandlerTimeout):
            return False
        if isinstance(exc, TransientError):
            return True
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return True
        if isinstance(exc, sa_exc.TimeoutError):  # pool exhausted for pool_timeout seconds
            return True
        if isinstance(exc, asyncpg.PostgresError) and _transient_state(exc.sqlstate):
            return True
        if isinstance(exc, asyncpg.InterfaceError | asyncpg.exceptions.ConnectionDoesNotExistError):
            return True
        if isinstance(exc, KafkaTimeoutError):  # metadata or send timeout; not flagged retriable
            return True
        if isinstance(exc, KafkaError) and getattr(exc, "retriable", False):
            return True
        if isinstance(exc, ConnectionError | TimeoutError):
            return True
        if isinstance(exc, OSError) and exc.errno is not None:  # sockets: refused, reset
            return True
    return False


# two transactions met: one was aborted so the other could go on, and the same work run
# again will very likely pass
_CONTENTION_CODES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


def is_contention(error: BaseException) -> bool:
    """Whether `error` (or anything in its cause chain) is PostgreSQL aborting a
    transaction that met another one (deadlock, serialization failure)."""
    return any(
        getattr(exc, "sqlstate", None) in _CONTENTION_CODES
        or getattr(exc, "pgcode", None) in _CONTENTION_CODES
        for exc in _chain(error)
    )


def _transient_state(sqlstate: object) -> bool:
    if not isinstance(sqlstate, str):
        return False
    return sqlstate in _TRANSIENT_CODES or sqlstate.startswith(_TRANSIENT_CLASSES)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, its causes and contexts, and the driver error a DBAPIError wraps."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        exc = todo.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        orig = getattr(exc, "orig", None)
        todo += [
            exc.__cause__,
            exc.__context__,
            orig if isinstance(orig, BaseException) else None,
        ]
        # SQLAlchemy's asyncpg adapter keeps the driver's exception as the adapted one's cause
