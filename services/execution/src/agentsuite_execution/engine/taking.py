"""What an engine's transaction takes on as it goes: the steps it made ready, and the
instant builtins it leased straight from `blocked` (see engine/local.py).

It lives for one transaction of a worker (`kinds.execute`, `kinds.execute_local`), in a
context variable that `taking_on` sets around it, not on the unit of work: a command's
transaction (a handler's) takes nothing on, and the unit of work stays the repositories'.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from uuid import UUID

from agentsuite_execution.domain.runs import Step


@dataclass
class Taking:
    """Instant builtins are leased straight from `blocked`, `left` more at most (`taken`);
    `readied`: the steps made ready meanwhile, which the worker may claim at once."""

    owner: str
    lease: float
    left: int
    taken: list[Step] = field(default_factory=list)
    readied: list[tuple[UUID, str]] = field(default_factory=list)


_current: ContextVar[Taking | None] = ContextVar("engine_taking", default=None)


def current() -> Taking | None:
    """The worker transaction's `Taking` in force (None: a command's transaction)."""
    return _current.get()


@contextmanager
def taking_on(taking: Taking) -> Iterator[Taking]:
    token = _current.set(taking)
    try:
        yield taking
    finally:
        _current.reset(token)
