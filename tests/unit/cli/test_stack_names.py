"""`agentsuite up` with an installed service the contracts registry does not list yet (one
`agentsuite new-service` just made): it gets a database, roles and an identity credential
like the registry's services, instead of failing the start with a KeyError."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from agentsuite_cli import stack as stack_module
from agentsuite_cli.settings import CliSettings
from agentsuite_cli.stack import Stack
from agentsuite_contracts.registry import SERVICES
from agentsuite_kit.service import ENTRY_POINT_GROUP, ServiceSpec
from agentsuite_kit.settings import ServiceSettings


def _installed(*names: str) -> list[EntryPoint]:
    return [
        EntryPoint(n, f"agentsuite_{n.replace('-', '_')}.app:spec", ENTRY_POINT_GROUP)
        for n in names
    ]


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    found = _installed("identity", "execution", "data-room")
    # what importlib.metadata would list with those packages installed
    monkeypatch.setattr(
        stack_module,
        "entry_points",
        lambda group: found if group == ENTRY_POINT_GROUP else [],
        raising=False,
    )
    return Stack(CliSettings(home=tmp_path, base_port=9100))


def test_an_installed_service_outside_the_registry_gets_its_database(stack: Stack) -> None:
    dbs = {d.service: d for d in stack.dbs()}
    assert set(SERVICES) <= set(dbs)
    assert (dbs["data-room"].database, dbs["data-room"].app) == (
        "agentsuite_data_room",
        "data_room_app",
    )


def test_identity_makes_its_credential_too(stack: Stack) -> None:
    [identity] = [d for d in stack.dbs() if d.service == "identity"]
    spec = ServiceSpec("identity", "x:app", Path("migrations"), ServiceSettings)
    env = stack.service_env(spec, identity, "postgresql://a:b@h:5432/postgres", 9100)
    wanted = json.loads(env["AGENTSUITE_IDENTITY_BOOTSTRAP_SERVICES"])
    assert wanted == [s for s in SERVICES if s != "identity"] + ["data-room"]
