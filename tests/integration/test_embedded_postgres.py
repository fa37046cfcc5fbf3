"""The embedded PostgreSQL of `agentsuite up` is durable: it syncs what it commits to disk
(`fsync`), so a power loss cannot lose or corrupt a platform's committed state. Only the
test suite's own server turns that off, for speed, and says so; `agentsuite status` names
which a stack runs with."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from agentsuite_cli.embedded import free_port
from agentsuite_cli.main import app as cli
from agentsuite_cli.settings import CliSettings
from agentsuite_cli.stack import Stack
from tests.conftest import TestSettings


async def show_fsync(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SHOW fsync"))
    finally:
        await conn.close()


async def test_the_stacks_embedded_server_syncs_to_disk_and_status_says_so(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    # as `agentsuite up` starts it: the settings' defaults, an external broker spares ours
    settings = CliSettings(
        home=tmp_path / "home", pg_port=free_port(), kafka_bootstrap_servers=kafka_bootstrap
    )
    stack = Stack(settings)
    stack.start_servers()
    try:
        assert await show_fsync(stack.admin_url()) == "on"
        rows = {name: (state, where) for name, state, where in stack.status()}
        assert rows["postgres (embedded)"][0] == "running"
        assert "fsync on" in rows["postgres (embedded)"][1]
        env = {
            "AGENTSUITE_HOME": str(settings.home),
            "AGENTSUITE_PG_PORT": str(settings.pg_port),
            "AGENTSUITE_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "COLUMNS": "200",  # the table on one line per row
        }
        shown = await asyncio.to_thread(CliRunner().invoke, cli, ["status"], env=env)
        assert shown.exit_code == 0, shown.output
        assert "fsync on" in shown.output
    finally:
        stack.pg.stop()


async def test_the_suites_embedded_server_trades_durability_for_speed(
    pg_admin_url: str, test_settings: TestSettings
) -> None:
    if test_settings.database_url:
        pytest.skip("an external server: its durability is its operator's")
    assert await show_fsync(pg_admin_url) == "off"
