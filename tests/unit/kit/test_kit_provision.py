"""Provisioning layout: names, passwords minted once and kept, URLs that survive any password."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from agentsuite_cli.provision import ServiceDb, load_passwords, names, service_dbs

SERVER = "postgresql://admin:admin-secret@db.internal:6543/postgres"


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("llm-gateway", ("agentsuite_llm_gateway", "llm_gateway_owner", "llm_gateway_app")),
        ("planning", ("agentsuite_planning", "planning_owner", "planning_app")),
    ],
)
def test_names(service: str, expected: tuple[str, str, str]) -> None:
    assert names(service) == expected


def test_service_dbs_layout(tmp_path: Path) -> None:
    [db] = service_dbs(["llm-gateway"], tmp_path / "pw.json")
    assert (db.service, db.database, db.owner, db.app) == (
        "llm-gateway",
        "agentsuite_llm_gateway",
        "llm_gateway_owner",
        "llm_gateway_app",
    )
    assert len(db.owner_password) >= 32
    assert len(db.app_password) >= 32
    assert db.owner_password != db.app_password


def test_passwords_minted_once_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "pw.json"
    first = service_dbs(["planning", "catalog"], path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = load_passwords(path)
    assert stored == json.loads(path.read_text())
    assert set(stored) == {"planning_owner", "planning_app", "catalog_owner", "catalog_app"}
    assert stored["planning_app"] == first[0].app_password
    assert stored["catalog_owner"] == first[1].owner_password

    again = service_dbs(["planning", "catalog"], path)
    assert again == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_new_service_keeps_existing_passwords(tmp_path: Path) -> None:
    path = tmp_path / "pw.json"
    [planning] = service_dbs(["planning"], path)
    planning_again, identity = service_dbs(["planning", "identity"], path)

    assert planning_again == planning
    assert identity.owner_password not in (planning.owner_password, planning.app_password)
    assert set(load_passwords(path)) == {
        "planning_owner",
        "planning_app",
        "identity_owner",
        "identity_app",
    }


def test_file_mode_tightened_on_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "pw.json"
    path.write_text(json.dumps({"planning_owner": "kept-owner-pw"}))
    path.chmod(0o644)

    [db] = service_dbs(["planning"], path)

    assert db.owner_password == "kept-owner-pw"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _db(owner_password: str, app_password: str) -> ServiceDb:
    return ServiceDb(
        "llm-gateway",
        "agentsuite_llm_gateway",
        "llm_gateway_owner",
        "llm_gateway_app",
        owner_password,
        app_password,
    )


def test_url_targets_the_servers_host_and_port() -> None:
    db = _db("ownerpw", "apppw")
    assert db.url(SERVER) == (
        "postgresql+asyncpg://llm_gateway_app:apppw@db.internal:6543/agentsuite_llm_gateway"
    )
    assert db.url(SERVER, owner=True) == (
        "postgresql+asyncpg://llm_gateway_owner:ownerpw@db.internal:6543/agentsuite_llm_gateway"
    )
    # the admin's credentials and database never leak into a service URL
    assert "admin" not in db.url(SERVER)
    assert db.url("postgresql://admin@pg.example/postgres").endswith(
        "@pg.example:5432/agentsuite_llm_gateway"
    )


def test_url_escapes_password_exactly() -> None:
    url = _db("p@ss:w/rd%", "x").url(SERVER, owner=True)
    assert url == (
        "postgresql+asyncpg://llm_gateway_owner:p%40ss%3Aw%2Frd%25@db.internal:6543/"
        "agentsuite_llm_gateway"
    )


@pytest.mark.parametrize("password", ["p@ss:w/rd", "50%off#?&=", "sp ace'\"", "ü+~"])
def test_url_quotes_special_characters(password: str) -> None:
    db = _db(password, password + "-app")

    owner = db.url(SERVER, owner=True)
    app = db.url(SERVER)

    assert owner.count("@") == 1  # an '@' in the password is escaped, not a second host part
    for url, role, pw in ((owner, db.owner, password), (app, db.app, password + "-app")):
        parsed = make_url(url)
        assert parsed.drivername == "postgresql+asyncpg"
        assert parsed.username == role
        assert parsed.password == pw
        assert (parsed.host, parsed.port, parsed.database) == (
            "db.internal",
            6543,
            "agentsuite_llm_gateway",
        )
