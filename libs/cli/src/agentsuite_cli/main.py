"""`agentsuite`: run the embedded stack and look into its topics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from agentsuite_cli.outbox import app as outbox_app
from agentsuite_cli.settings import CliSettings
from agentsuite_cli.tenant import app as tenant_app

if TYPE_CHECKING:
    # imported where used: `serve` (a service's every start, after a crash too) needs
    # none of the stack's machinery (migrations tooling, process table, embedded servers)
    from agentsuite_cli.stack import Stack

app = typer.Typer(no_args_is_help=True, help="Agentsuite: the embedded stack and its tools.")
console = Console()
app.add_typer(outbox_app, name="outbox")
app.add_typer(tenant_app, name="tenant")


def _stack() -> Stack:
    from agentsuite_cli.stack import Stack

    return Stack(CliSettings())


def _print_status(stack: Stack) -> None:
    table = Table(title="agentsuite")
    for col in ("component", "state", "where"):
        table.add_column(col)
    for name, state, where in stack.status():
        style = "green" if state in ("running", "configured") else "red"
        table.add_row(name, f"[{style}]{state}[/{style}]", where)
    console.print(table)


@app.command()
def up() -> None:
    """Start PostgreSQL and the broker (embedded unless URLs are set), create databases and
    roles, run migrations, create topics, start every installed service."""
    from agentsuite_cli.stack import StartError

    stack = _stack()
    try:
        state = stack.up()
    except StartError as exc:
        console.print(f"[red]start failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    _print_status(stack)
    if not state.services:
        console.print("no service packages are installed yet; infrastructure only")
    operator = stack.credentials / "platform-operator.json"
    if operator.exists():
        console.print(f"platform operator credential: {operator} (mode 0600)")


@app.command()
def down(
    purge: bool = typer.Option(
        False, "--purge", help="Also delete embedded data and the credentials issued in it."
    ),
) -> None:
    """Stop everything `up` started."""
    stack = _stack()
    stopped = stack.down()
    if purge:
        from agentsuite_cli.embedded import remove

        remove(stack.home)
        if stack.settings.database_url is None:
            # identity issued these in the database just removed and writes them only on
            # a database's first start: kept, they would stop it starting on the next one
            shutil.rmtree(stack.credentials, ignore_errors=True)
    console.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@app.command()
def status() -> None:
    """Show what is running."""
    _print_status(_stack())


@app.command()
def topics() -> None:
    """List the broker's topics with partition counts."""
    from agentsuite_kit.messaging.admin import list_topics

    found = asyncio.run(list_topics(_stack().bootstrap()))
    table = Table(title="topics")
    table.add_column("topic")
    table.add_column("partitions", justify="right")
    for name in sorted(found):
        table.add_row(name, str(found[name]))
    console.print(table)


@app.command()
def tail(
    topic: str,
    from_beginning: bool = typer.Option(True, "--from-beginning/--new", help="Start offset."),
    limit: int = typer.Option(0, help="Stop after this many messages (0: follow)."),
) -> None:
    """Print a topic's messages as JSON lines: partition, offset, key, headers, value."""
    from aiokafka import AIOKafkaConsumer

    async def run() -> None:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=_stack().bootstrap(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if from_beginning else "latest",
        )
        await consumer.start()
        seen = 0
        try:
            async for rec in consumer:
                try:
                    value: object = json.loads(rec.value)
                except ValueError:
                    value = rec.value.decode(errors="replace")
                line = {
                    "partition": rec.partition,
                    "offset": rec.offset,
                    "key": rec.key.decode(errors="replace") if rec.key else None,
                    "headers": {k: v.decode(errors="replace") for k, v in rec.headers},
                    "value": value,
                }
                sys.stdout.write(json.dumps(line) + "\n")
                sys.stdout.flush()
                seen += 1
                if limit and seen >= limit:
                    return
        finally:
            await consumer.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


@app.command()
def redrive(
    group: str = typer.Argument(help="Consumer group, `<service>.<consumer>`."),
    limit: int = typer.Option(0, help="Move at most this many (0: all)."),
) -> None:
    """Give a consumer group's dead letters (`<group>.dlq`) back to that group alone."""
    from agentsuite_contracts.deadletter import dead_letter_topic, retry_topic
    from agentsuite_kit.messaging.redrive import redrive as run

    moved = asyncio.run(run(_stack().bootstrap(), group, limit=limit or None))
    console.print(
        f"redrove {moved} message(s) from {dead_letter_topic(group)} to {retry_topic(group, 1)}"
    )


_PAYLOAD = typer.Argument(help="A JSON file holding one payload, with its `type`.")
_TENANT = typer.Option(None, help="The tenant it belongs to.")


@app.command()
def publish(
    file: Path = _PAYLOAD,
    tenant: UUID | None = _TENANT,
    producer: str | None = typer.Option(None, help="Default: the owner of its topic."),
) -> None:
    """Publish one event as its owning service would (validated against its contract):
    stands in for a service that is not running, e.g. planning approving a plan."""
    from agentsuite_cli.publish import publish as run

    topic = run(_stack().bootstrap(), file, tenant, producer)
    console.print(f"published to {topic}")


def tidy(root: Path, files: list[Path]) -> None:
    """Sort the imports and format the new modules with the workspace's own ruff settings:
    where the service's package sorts among the others, and how long its names make a
    line, depend on the name."""
    for command in (["check", "--quiet", "--fix", "--select", "I"], ["format", "--quiet"]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command, *map(str, files)], cwd=root, check=False
        )
        if done.returncode != 0:
            console.print("[yellow]ruff could not tidy the new files; run `make lint`[/yellow]")
            return


_ROOT = typer.Option(Path("."), "--root", help="The workspace's root folder.")


@app.command("new-service")
def new_service(
    name: str = typer.Argument(help="The service's name: lowercase words joined by hyphens."),
    root: Path = _ROOT,
    lock: bool = typer.Option(True, "--lock/--no-lock", help="Update uv.lock afterwards."),
) -> None:
    """Write a new service in the workspace's layout (services/README.md): its package,
    migrations, tests, bench and README section, registered in the root pyproject.toml."""
    from agentsuite_cli.scaffold import ScaffoldError
    from agentsuite_cli.scaffold import new_service as make

    try:
        written = make(root, name)
    except ScaffoldError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    base = root.resolve()
    for path in written:
        console.print(f"wrote {path.relative_to(base)}")
    tidy(base, [p for p in written if p.suffix == ".py"])
    if lock:
        # the new member joins uv.lock here, so `make install` (a frozen sync) installs it
        uv = shutil.which("uv")
        command = [uv, "lock"] if uv else ["python3", "-m", "uv", "lock"]  # as the Makefile
        done = subprocess.run(command, cwd=base, check=False)
        if done.returncode != 0:
            console.print("[yellow]uv lock failed; run `python3 -m uv lock` yourself[/yellow]")
    console.print("next: `make install`, then `make test`; `make up` starts it")


@app.command()
def serve(
    name: str = typer.Argument(
        help="An installed service's name, or `module:attribute` of a ServiceSpec."
    ),
) -> None:
    """Run one service: migrate its database (when a migration URL is set), then serve its
    HTTP API. Host, port and URLs come from the service's own settings."""
    import uvicorn

    from agentsuite_kit.logging import configure as configure_logging
    from agentsuite_kit.service import find

    try:
        spec = find(name)
    except LookupError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    settings = spec.settings()
    configure_logging(spec.name, settings.log_level, settings.log_json)
    if settings.migration_database_url is not None:
        from agentsuite_kit.db.migrate import upgrade  # alembic: only when migrating

        upgrade(spec.migrations, settings.migration_database_url.get_secret_value())
    # log_config=None: uvicorn's records go through the JSON handler configured above
    uvicorn.run(
        spec.asgi_app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        factory=True,
        # X-Forwarded-For is believed only from the service's `trusted_proxies` (the app's
        # middleware); uvicorn's default would believe any peer on 127.0.0.1
        proxy_headers=False,
    )


if __name__ == "__main__":
    app()
