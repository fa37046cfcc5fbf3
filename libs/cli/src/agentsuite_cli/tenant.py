"""`agentsuite tenant`: tenants made and listed with the platform operator's credential.

identity writes that credential once, mode 0600, to `<home>/credentials/platform-operator.json`
on its first start; these commands trade it for a short-lived platform token
(client_credentials) and call identity's API, as any automation would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from agentsuite_cli.settings import CliSettings

app = typer.Typer(no_args_is_help=True, help="Tenants, through identity's API.")
console = Console()


def _operator(home: Path) -> dict[str, str]:
    path = home / "credentials" / "platform-operator.json"
    if not path.exists():
        console.print(f"[red]no operator credential at {path}[/red]: run `agentsuite up` first")
        raise typer.Exit(2)
    credential: dict[str, str] = json.loads(path.read_text())
    return credential


def _token(credential: dict[str, str]) -> str:
    response = httpx.post(
        credential["token_url"],
        data={"grant_type": "client_credentials"},
        auth=(credential["client_id"], credential["client_secret"]),
        timeout=10,
    )
    if response.status_code != 200:
        console.print(f"[red]token refused ({response.status_code}):[/red] {response.text}")
        raise typer.Exit(1)
    token: str = response.json()["access_token"]
    return token


def _call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    credential = _operator(CliSettings().home.resolve())
    base = credential["token_url"].removesuffix("/v1/token")
    response = httpx.request(
        method,
        f"{base}{path}",
        json=body,
        headers={"Authorization": f"Bearer {_token(credential)}"},
        timeout=30,
    )
    if response.status_code >= 400:
        console.print(f"[red]{method} {path} failed ({response.status_code}):[/red]")
        console.print(response.text)
        raise typer.Exit(1)
    return response.json()


@app.command()
def create(
    slug: str = typer.Argument(help="URL-safe handle, e.g. `acme`."),
    name: str = typer.Option(..., help="Display name."),
    admin_email: str = typer.Option(..., help="The first admin's email."),
    admin_name: str = typer.Option("Admin", help="The first admin's display name."),
    admin_password: str | None = typer.Option(
        None,
        help="The first admin's password; omit to get a one-time invitation token instead.",
    ),
    tier: str = typer.Option("standard", help="Commercial tier."),
) -> None:
    """Create a tenant with its first admin and default organization."""
    admin: dict[str, Any] = {"email": admin_email, "display_name": admin_name}
    if admin_password is not None:
        admin["password"] = admin_password
    made = _call("POST", "/v1/tenants", {"slug": slug, "name": name, "tier": tier, "admin": admin})
    console.print_json(json.dumps(made))


@app.command("list")
def list_() -> None:
    """List tenants."""
    page = _call("GET", "/v1/tenants?limit=200")
    table = Table(title="tenants")
    for col in ("id", "slug", "name", "status"):
        table.add_column(col)
    for t in page.get("items", []):
        table.add_row(str(t.get("tenant_id", t.get("id"))), t["slug"], t["name"], t["status"])
    console.print(table)
