"""A service's database sessions die with its host: PostgreSQL probes an idle client and
ends the session of one that stopped answering, so the relay's leader lock (a session-level
advisory lock) passes to another process soon after a crash. A SIGKILLed process on a live
host closes its sockets and frees the lock at once (tests/integration/test_restart_after_kill
sees its restarted relay publish); a host that vanishes closes nothing, and without probes
the server keeps the session, and the lock, for the OS default of over two hours."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def test_the_server_probes_a_silent_client_within_a_minute(
    app_engine: AsyncEngine,
) -> None:
    async with app_engine.connect() as conn:
        idle = int(await conn.scalar(text("SHOW tcp_keepalives_idle")) or 0)
        interval = int(await conn.scalar(text("SHOW tcp_keepalives_interval")) or 0)
        count = int(await conn.scalar(text("SHOW tcp_keepalives_count")) or 0)
    # 0 means the operating system's default (idle two hours on Linux)
    assert min(idle, interval, count) > 0, (idle, interval, count)
    assert idle + interval * count <= 60
