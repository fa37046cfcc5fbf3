"""Async engines whose pooled connections carry nothing from one borrower to the next.

Nothing is reset on return because nothing needs to be: the only settings the kit makes
are transaction-local (`set_config(..., true)`, see db/scoped.py), which a test pins, and
code must use `SET LOCAL`, never a session-level `SET`. No pre-ping either: a connection
the server closed is seen locally on checkout (no round trip) and replaced; one that dies
silently fails its first statement as a transient error, which consumers retry. Measured
on the consumer path: pre-ping and RESET ALL cost four of nine round trips per event.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

# The server probes a session idle for 10 s and ends it after 3 probes 5 s apart go
# unanswered: a process whose host died (no FIN, no RST) loses its sessions, and the outbox
# relay's leader lock with them, in ~25 s instead of the OS default of over two hours.
# Session settings any role may set; ignored on Unix-socket connections.
KEEPALIVE = {
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
}


def make_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 5, application_name: str = "agentsuite"
) -> AsyncEngine:
    """An asyncpg engine for a service's unit of work (app role) or its tools."""
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        # below the usual idle timeouts of servers and poolers: recycled before they cut it
        pool_recycle=1800,
        connect_args={"server_settings": {"application_name": application_name, **KEEPALIVE}},
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: Any) -> None:
    # asyncpg knows locally when the server ended the session (restart, terminate): the pool
    # then discards this connection and checks out another
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise exc.DisconnectionError("connection closed by the server")
