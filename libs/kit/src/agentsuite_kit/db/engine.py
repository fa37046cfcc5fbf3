"""Async engines whose pooled connections never carry one request's settings to the next."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry


def make_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 5, application_name: str = "agentsuite"
) -> AsyncEngine:
    """An asyncpg engine whose connections are scrubbed of session settings on return."""
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": application_name}},
    )
    event.listen(engine.sync_engine, "reset", _reset_session_state)
    return engine


def _reset_session_state(
    dbapi_connection: Any, _record: ConnectionPoolEntry, reset_state: Any
) -> None:
    # A plain `SET app.tenant_id` survives COMMIT and would hand one tenant's scope to the
    # next borrower of this connection; RESET ALL drops every session-level setting. SET is
    # transactional in PostgreSQL, so the RESET is committed, not rolled back.
    if reset_state.terminate_only:
        return
    dbapi_connection.rollback()
    cursor = dbapi_connection.cursor()
    cursor.execute("RESET ALL")
    cursor.close()
    dbapi_connection.commit()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose every transaction is scoped to the unit of work's tenant."""
    # imported here: uow imports the outbox and inbox repositories, which import this package
    from agentsuite_kit.db.uow import TenantSession

    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=TenantSession
    )
