"""The import-linter contracts (pyproject.toml) cover every service on disk.

A contract lists packages by name, so a new service is unchecked until someone adds it; this
test is what makes them add it (and its first-party name for isort, and its sources for mypy).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).parents[2]
# the layers of a service that its domain/ must not import, where the service has them
OUTER_LAYERS = ("repositories", "api", "engine", "handlers", "uow", "deps")
INFRASTRUCTURE = ("sqlalchemy", "fastapi", "starlette", "aiokafka", "aiohttp", "httpx", "asyncpg")


def config() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def services() -> dict[str, Path]:
    """Package name -> package folder of every service under services/."""
    found = {p.name: p for p in ROOT.glob("services/*/src/agentsuite_*") if p.is_dir()}
    assert found, "no service found under services/"
    return found


def contract(id_: str) -> dict[str, Any]:
    (found,) = [c for c in config()["tool"]["importlinter"]["contracts"] if c["id"] == id_]
    assert isinstance(found, dict)
    return found


def test_every_service_is_a_root_package_and_an_independent_layer() -> None:
    roots = set(config()["tool"]["importlinter"]["root_packages"])
    layers = contract("workspace")["layers"]
    service_layer = {name.strip() for name in layers[1].split("|")}
    for name in services():
        assert name in roots, f"{name} is not in [tool.importlinter] root_packages"
        assert name in service_layer, f"{name} is not in the services layer of 'workspace'"
    assert layers[0] == "agentsuite_cli"
    assert layers[2:] == ["agentsuite_kit", "agentsuite_contracts"]


def test_every_domain_is_kept_pure() -> None:
    pure = contract("pure-domain")
    for name, folder in services().items():
        assert (folder / "domain").is_dir(), f"{name} has no domain/"
        assert f"{name}.domain" in pure["source_modules"], f"{name}.domain is not checked"
        for layer in OUTER_LAYERS:
            if (folder / layer).is_dir() or (folder / f"{layer}.py").is_file():
                assert f"{name}.{layer}" in pure["forbidden_modules"], (
                    f"{name}.domain may import {name}.{layer}"
                )
    assert set(INFRASTRUCTURE) <= set(pure["forbidden_modules"])


def test_every_package_is_checked_for_circles() -> None:
    ancestors = set(contract("no-circles")["ancestors"])
    assert set(config()["tool"]["importlinter"]["root_packages"]) <= ancestors
    for entry in contract("no-circles").get("ignore_imports", []):
        importer, imported = entry.split(" -> ")
        assert importer.split(".")[0] == imported.split(".")[0], entry


def test_every_service_is_first_party_and_type_checked() -> None:
    tool = config()["tool"]
    first_party = set(tool["ruff"]["lint"]["isort"]["known-first-party"])
    for name, folder in services().items():
        src = folder.parent.relative_to(ROOT).as_posix()
        assert name in first_party, f"{name} is not in isort's known-first-party"
        assert src in tool["ruff"]["src"], f"{src} is not in ruff's src"
        assert src in tool["mypy"]["files"], f"{src} is not in mypy's files"
