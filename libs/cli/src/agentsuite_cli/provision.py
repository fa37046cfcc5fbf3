"""One database and two roles per service: `<svc>_owner` owns the tables, `<svc>_app` uses them.

The app role is not the owner, not a superuser and cannot bypass RLS, so row-level
security binds every query a service makes.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import asyncpg


@dataclass(frozen=True, slots=True)
class ServiceDb:
    service: str
    database: str
    owner: str
    app: str
    owner_password: str
    app_password: str

    def url(self, server: str, *, owner: bool = False) -> str:
        """Async SQLAlchemy URL on `server` (scheme://user:pw@host:port/anything)."""
        parts = urlsplit(server)
        host = parts.hostname or "127.0.0.1"
        port = parts.port or 5432
        role, pw = (self.owner, self.owner_password) if owner else (self.app, self.app_password)
        return f"postgresql+asyncpg://{role}:{quote(pw, safe='')}@{host}:{port}/{self.database}"


def names(service: str) -> tuple[str, str, str]:
    base = service.replace("-", "_")
    return f"agentsuite_{base}", f"{base}_owner", f"{base}_app"


def load_passwords(path: Path) -> dict[str, str]:
    return json.loads(path.read_text()) if path.exists() else {}


def service_dbs(services: list[str], secrets_file: Path) -> list[ServiceDb]:
    """The layout for `services`, minting and keeping passwords in `secrets_file` (0600)."""
    stored = load_passwords(secrets_file)
    out: list[ServiceDb] = []
    for svc in services:
        db, owner, app = names(svc)
        for role in (owner, app):
            stored.setdefault(role, secrets.token_urlsafe(24))
        out.append(ServiceDb(svc, db, owner, app, stored[owner], stored[app]))
    secrets_file.parent.mkdir(parents=True, exist_ok=True)
    secrets_file.write_text(json.dumps(stored, indent=2, sort_keys=True))
    secrets_file.chmod(0o600)
    return out


async def provision(admin_url: str, dbs: list[ServiceDb]) -> list[str]:
    """Create what is missing (idempotent); return what was created."""
    created: list[str] = []
    conn = await asyncpg.connect(admin_url)
    try:
        for d in dbs:
            for role, pw in ((d.owner, d.owner_password), (d.app, d.app_password)):
                exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
                verb = "ALTER" if exists else "CREATE"
                # identifiers come from `names()`, a fixed pattern; the password is a literal.
                # The owner is reset too: an owner that bypasses RLS would let a data
                # migration cross tenants without saying so (`migrate.all_tenants`).
                await conn.execute(f"{verb} ROLE {role} LOGIN PASSWORD {_literal(pw)}{_PLAIN}")
                if not exists:
                    created.append(f"role {role}")
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", d.database):
                await conn.execute(f"CREATE DATABASE {d.database} OWNER {d.owner}")
                created.append(f"database {d.database}")
            await conn.execute(f"REVOKE ALL ON DATABASE {d.database} FROM PUBLIC")
            await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {d.database} TO {d.app}")
        for d in dbs:
            await _grant_in_db(admin_url, d)
    finally:
        await conn.close()
    return created


async def _grant_in_db(admin_url: str, d: ServiceDb) -> None:
    parts = urlsplit(admin_url)
    conn = await asyncpg.connect(parts._replace(path=f"/{d.database}").geturl())
    try:
        # PostgreSQL before 15 let PUBLIC create in schema public; only the owner makes DDL
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        await conn.execute(f"GRANT USAGE ON SCHEMA public TO {d.app}")
        await conn.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {d.owner} IN SCHEMA public "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {d.app}"
        )
        await conn.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {d.owner} IN SCHEMA public "
            f"GRANT USAGE, SELECT ON SEQUENCES TO {d.app}"
        )
    finally:
        await conn.close()


_PLAIN = " NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def deprovision(admin_url: str, dbs: list[ServiceDb]) -> None:
    """Drop the databases and roles of `dbs` (all data with them). For tests and teardown."""
    conn = await asyncpg.connect(admin_url)
    try:
        for d in dbs:
            await conn.execute(f"DROP DATABASE IF EXISTS {d.database} WITH (FORCE)")
            await conn.execute(f"DROP ROLE IF EXISTS {d.app}")
            await conn.execute(f"DROP ROLE IF EXISTS {d.owner}")
    finally:
        await conn.close()
