"""Provision a throwaway sample-service database the way `agentsuite up` provisions one."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from agentsuite_cli.provision import ServiceDb, provision, service_dbs
from agentsuite_kit.db.migrate import upgrade

MIGRATIONS = Path(__file__).parent / "migrations"


async def create_db(
    admin_url: str, prefix: str, secrets_file: Path, *, migrate: bool = True
) -> ServiceDb:
    """A database and roles named `<prefix>_<random>`, migrated to head unless told not to."""
    [db] = service_dbs([f"{prefix}_{secrets.token_hex(4)}"], secrets_file)
    await provision(admin_url, [db])
    if migrate:
        await asyncio.to_thread(upgrade, MIGRATIONS, db.url(admin_url, owner=True))
    return db
