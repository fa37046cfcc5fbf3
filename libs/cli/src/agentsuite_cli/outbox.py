"""`agentsuite outbox`: the rows the relay parked after repeated failures, and their retry."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

app = typer.Typer(no_args_is_help=True, help="The outbox's parked rows: list them, retry them.")
console = Console()
T = TypeVar("T")

_SERVICE = typer.Option(None, "--service", "-s", help="A service of the stack (its app role).")
_URL = typer.Option(
    None, "--database-url", envvar="AGENTSUITE_OUTBOX_DATABASE_URL", help="Or any service database."
)
_IDS = typer.Argument(None, help="Row ids from `agentsuite outbox parked`.")
_ALL = typer.Option(False, "--all", help="Every parked row.")


def _url(service: str | None, database_url: str | None) -> str:
    if database_url:
        return database_url
    if not service:
        raise typer.BadParameter("give --service or --database-url", param_hint="--service")
    from agentsuite_cli.settings import CliSettings
    from agentsuite_cli.stack import Stack

    stack = Stack(CliSettings())
    for db in stack.dbs():
        if db.service == service:
            return db.url(stack.admin_url())
    raise typer.BadParameter(f"no service named {service!r} in the stack", param_hint="--service")


def _on(url: str, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    from agentsuite_kit.db import make_engine

    async def run() -> T:
        engine = make_engine(url, pool_size=1, max_overflow=0, application_name="agentsuite-cli")
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@app.command()
def parked(
    service: str | None = _SERVICE,
    database_url: str | None = _URL,
    limit: int = typer.Option(100, help="Show at most this many (oldest first)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line, for scripts."),
) -> None:
    """List parked rows: id, topic, key, type, attempts, error."""
    from agentsuite_kit.messaging.relay import parked_rows

    found = _on(_url(service, database_url), lambda e: parked_rows(e, limit))
    if as_json:
        for row in found:
            line = {**asdict(row), "parked_at": row.parked_at.isoformat()}
            sys.stdout.write(json.dumps(line) + "\n")
        return
    table = Table(title=f"parked outbox rows ({len(found)})")
    for col in ("id", "topic", "key", "type", "attempts", "parked at", "error"):
        table.add_column(col, overflow="fold")
    for row in found:
        table.add_row(
            str(row.id),
            row.topic,
            row.key,
            row.type,
            str(row.attempts),
            row.parked_at.isoformat(timespec="seconds"),
            row.error or "",
        )
    console.print(table)


@app.command()
def retry(
    ids: list[int] | None = _IDS,
    every: bool = _ALL,
    service: str | None = _SERVICE,
    database_url: str | None = _URL,
) -> None:
    """Put parked rows back in line for the relay, with a fresh attempt count."""
    from agentsuite_kit.messaging.relay import retry_parked

    if bool(ids) == every:
        raise typer.BadParameter("give row ids or --all, not both", param_hint="IDS")
    moved = _on(_url(service, database_url), lambda e: retry_parked(e, None if every else ids))
    console.print(f"un-parked {moved} outbox row(s)")
