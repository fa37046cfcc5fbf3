"""Provisioning layout: names, passwords minted once and kept, URLs that survive any password,
and what `up` hands a running service (the app role, never the owner or the admin)."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from agentsuite_cli.provision import ServiceDb, load_passwords, names, service_dbs
from agentsuite_cli.settings import CliSettings
from agentsuite_cli.stack import Stack
from agentsuite_contracts.registry import SERVICES
from agentsuite_kit.service import ServiceSpec
from agentsuite_kit.settings import ServiceSettings

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


def _stack(tmp_path: Path) -> Stack:
    return Stack(
        CliSettings(
            home=tmp_path,
            database_url=SecretStr(SERVER),
            kafka_bootstrap_servers="kafka-1:9092",
            base_port=9100,
        )
    )


def _spec(name: str) -> ServiceSpec:
    return ServiceSpec(name, "x:app", Path("migrations"), ServiceSettings)


def test_service_env_holds_the_app_role_only(tmp_path: Path) -> None:
    db = _db("OWNER-SECRET", "app-secret")
    env = _stack(tmp_path).service_env(_spec("llm-gateway"), db, SERVER, 9105)
    keys = json.loads(env.pop("AGENTSUITE_LLM_GATEWAY_CREDENTIAL_KEYS"))
    assert env.pop("AGENTSUITE_LLM_GATEWAY_CREDENTIAL_KEY_ID") in keys
    assert len(base64.b64decode(keys["k1"])) == 32
    assert (tmp_path / "llm-gateway-kek").stat().st_mode & 0o777 == 0o600

    assert env == {
        "AGENTSUITE_LLM_GATEWAY_DATABASE_URL": (
            "postgresql+asyncpg://llm_gateway_app:app-secret@db.internal:6543/"
            "agentsuite_llm_gateway"
        ),
        "AGENTSUITE_LLM_GATEWAY_KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9092",
        "AGENTSUITE_LLM_GATEWAY_HTTP_PORT": "9105",
        "AGENTSUITE_LLM_GATEWAY_JWKS_URL": "http://127.0.0.1:9100/.well-known/jwks.json",
        "AGENTSUITE_LLM_GATEWAY_IDENTITY_TOKEN_URL": "http://127.0.0.1:9100/v1/token",
        "AGENTSUITE_LLM_GATEWAY_IDENTITY_REVOCATIONS_URL": "http://127.0.0.1:9100/v1/revocations",
        "AGENTSUITE_LLM_GATEWAY_CREDENTIALS_FILE": str(tmp_path / "credentials/llm-gateway.json"),
    }
    handed = " ".join([*env, *env.values()])
    for secret in ("OWNER-SECRET", "llm_gateway_owner", "admin-secret", "MIGRATION", "KEY_ENC"):
        assert secret not in handed


def test_execution_gets_a_secret_key_minted_once(tmp_path: Path) -> None:
    db = _db("OWNER-SECRET", "app-secret")
    stack = _stack(tmp_path)
    env = stack.service_env(_spec("execution"), db, SERVER, 9104)
    again = stack.service_env(_spec("execution"), db, SERVER, 9104)
    keys = json.loads(env["AGENTSUITE_EXECUTION_SECRET_KEYS"])
    assert env["AGENTSUITE_EXECUTION_SECRET_KEY_ID"] in keys
    assert len(base64.b64decode(keys["k1"])) == 32
    assert again["AGENTSUITE_EXECUTION_SECRET_KEYS"] == env["AGENTSUITE_EXECUTION_SECRET_KEYS"]
    assert (tmp_path / "execution-kek").stat().st_mode & 0o777 == 0o600


def test_planning_gets_a_trigger_secret_key_minted_once(tmp_path: Path) -> None:
    db = _db("OWNER-SECRET", "app-secret")
    stack = _stack(tmp_path)
    env = stack.service_env(_spec("planning"), db, SERVER, 9106)
    again = stack.service_env(_spec("planning"), db, SERVER, 9106)
    keys = json.loads(env["AGENTSUITE_PLANNING_TRIGGER_SECRET_KEYS"])
    assert env["AGENTSUITE_PLANNING_TRIGGER_SECRET_KEY_ID"] in keys
    assert len(base64.b64decode(keys["k1"])) == 32
    assert (
        again["AGENTSUITE_PLANNING_TRIGGER_SECRET_KEYS"]
        == env["AGENTSUITE_PLANNING_TRIGGER_SECRET_KEYS"]
    )
    assert (tmp_path / "planning-kek").stat().st_mode & 0o777 == 0o600


def test_identity_alone_gets_the_key_encryption_key_minted_once(tmp_path: Path) -> None:
    db = _db("OWNER-SECRET", "app-secret")
    stack = _stack(tmp_path)
    env = stack.service_env(_spec("identity"), db, SERVER, 9100)
    again = stack.service_env(_spec("identity"), db, SERVER, 9100)

    kek = env["AGENTSUITE_IDENTITY_KEY_ENCRYPTION_KEY"]
    assert len(base64.b64decode(kek)) == 32
    assert again["AGENTSUITE_IDENTITY_KEY_ENCRYPTION_KEY"] == kek
    assert (tmp_path / "identity-kek").stat().st_mode & 0o777 == 0o600
    assert env["AGENTSUITE_IDENTITY_BOOTSTRAP_DIR"] == str(tmp_path / "credentials")
    assert "identity" not in json.loads(env["AGENTSUITE_IDENTITY_BOOTSTRAP_SERVICES"])
    assert env["AGENTSUITE_IDENTITY_PUBLIC_URL"] == "http://127.0.0.1:9100"


def test_ports_follow_the_registry_so_identity_is_known_first(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    ports = stack.ports(["audit", "zz-sample", "identity", "a-sample"])

    assert ports == {
        "identity": 9100,
        "audit": 9100 + SERVICES.index("audit"),
        "a-sample": 9100 + len(SERVICES),
        "zz-sample": 9100 + len(SERVICES) + 1,
    }
    assert stack.ports(["audit"]) == {"audit": ports["audit"]}
    assert stack.jwks_url() == "http://127.0.0.1:9100/.well-known/jwks.json"


def test_child_env_drops_admin_and_owner_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTSUITE_DATABASE_URL", SERVER)
    monkeypatch.setenv("AGENTSUITE_PLANNING_MIGRATION_DATABASE_URL", "postgresql://owner:pw@x/y")
    monkeypatch.setenv("KEEP_ME", "1")
    stack = _stack(tmp_path)
    spec = _spec("planning")
    db = ServiceDb("planning", "agentsuite_planning", "planning_owner", "planning_app", "o", "a")

    env = stack.child_env(spec, stack.service_env(spec, db, SERVER, 9103))

    assert "AGENTSUITE_DATABASE_URL" not in env
    assert "AGENTSUITE_PLANNING_MIGRATION_DATABASE_URL" not in env
    assert env["KEEP_ME"] == "1"
    assert env["AGENTSUITE_PLANNING_DATABASE_URL"].startswith("postgresql+asyncpg://planning_app:")
    assert "admin-secret" not in " ".join(env.values())
