"""Identity as separate processes: `agentsuite serve identity` on private ports over one
database, each its own interpreter (nothing in one process can reach another's memory, as
in production), and SQL run as the tables' owner the way an operator would."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from agentsuite_cli.embedded import free_port
from agentsuite_cli.provision import ServiceDb, deprovision
from agentsuite_contracts.registry import TOPICS
from agentsuite_kit.db import make_engine
from agentsuite_kit.messaging.admin import ensure_topics
from agentsuite_kit.settings import env_prefix
from tests.integration.identity.harness import create_identity_db
from tests.integration.kafka_helpers import eventually

ROOT = Path(__file__).parents[3]


@asynccontextmanager
async def identity_processes(
    pg_admin_url: str, kafka_bootstrap: str, workdir: Path, count: int = 2, **settings: str
) -> AsyncIterator[tuple[list[str], ServiceDb]]:
    """`count` identity processes on one new database, ready; their base URLs and the
    database. `settings` are more `AGENTSUITE_IDENTITY_*` values (name in lower case)."""
    db = await create_identity_db(pg_admin_url, workdir / "pw.json")
    await ensure_topics(
        kafka_bootstrap, [(t.name, t.partitions) for t in TOPICS if t.owner == "identity"]
    )
    p = env_prefix("identity")
    common = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        f"{p}DATABASE_URL": db.url(pg_admin_url),
        f"{p}KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        # one key for all: each must read the signing keys another made
        f"{p}KEY_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),
        f"{p}ARGON2_TIME_COST": "1",
        f"{p}ARGON2_MEMORY_COST": "1024",
        f"{p}ARGON2_PARALLELISM": "1",
        f"{p}LOG_LEVEL": "WARNING",
        **{f"{p}{name.upper()}": value for name, value in settings.items()},
    }
    bases: list[str] = []
    procs: list[asyncio.subprocess.Process] = []
    logs = []
    try:
        for n in range(count):
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = {**common, f"{p}HTTP_PORT": str(port), f"{p}PUBLIC_URL": base}
            log = (workdir / f"identity-{n}.log").open("wb")
            logs.append(log)
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "agentsuite_cli.main",
                    "serve",
                    "identity",
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                )
            )
            bases.append(base)
        async with httpx.AsyncClient(timeout=5) as http:

            async def ready() -> bool:
                for n, (base, proc) in enumerate(zip(bases, procs, strict=True)):
                    assert proc.returncode is None, (workdir / f"identity-{n}.log").read_text()
                    try:
                        if (await http.get(f"{base}/readyz")).status_code != 200:
                            return False
                    except httpx.HTTPError:
                        return False
                return True

            await eventually(ready, within=120)
        yield bases, db
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await proc.wait()
        for log in logs:
            log.close()
        await deprovision(pg_admin_url, [db])


async def owner_sql(db: ServiceDb, admin_url: str, *statements: tuple[str, dict[str, Any]]) -> None:
    """Run `statements` (SQL, parameters) in one transaction as the tables' owner, over all
    tenants' rows (RLS is forced on the owner too). Announces nothing: a caller that changes
    what identity caches sends the notification itself, as README asks of such edits."""
    engine = make_engine(db.url(admin_url, owner=True), pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
            for sql, params in statements:
                await conn.execute(text(sql), params)
    finally:
        await engine.dispose()
