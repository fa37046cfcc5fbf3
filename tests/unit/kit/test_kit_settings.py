"""Service settings: one env prefix per service, secrets that never print."""

from __future__ import annotations

import os
from typing import ClassVar

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from agentsuite_kit.settings import ServiceSettings, env_prefix

DB_URL = "postgresql+asyncpg://planning_app:hunter2-s3cret@127.0.0.1:5432/agentsuite_planning"


class PlanningSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=env_prefix("planning"))

    service: ClassVar[str] = "planning"

    max_steps: int = 20


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # whatever the outer shell exports must not leak into what these tests read
    for name in list(os.environ):
        if name.startswith("AGENTSUITE_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("service", "prefix"),
    [
        ("llm-gateway", "AGENTSUITE_LLM_GATEWAY_"),
        ("planning", "AGENTSUITE_PLANNING_"),
        ("identity", "AGENTSUITE_IDENTITY_"),
    ],
)
def test_env_prefix(service: str, prefix: str) -> None:
    assert env_prefix(service) == prefix


def test_reads_fields_from_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTSUITE_PLANNING_DATABASE_URL", DB_URL)
    monkeypatch.setenv("AGENTSUITE_PLANNING_DB_POOL_SIZE", "3")
    monkeypatch.setenv("AGENTSUITE_PLANNING_KAFKA_IDEMPOTENCE", "off")
    monkeypatch.setenv("AGENTSUITE_PLANNING_LOG_JSON", "false")
    monkeypatch.setenv("AGENTSUITE_PLANNING_MAX_STEPS", "7")

    settings = PlanningSettings()

    assert settings.database_url.get_secret_value() == DB_URL
    assert settings.db_pool_size == 3
    assert settings.kafka_idempotence == "off"
    assert settings.log_json is False
    assert settings.max_steps == 7
    # untouched fields keep their defaults
    assert settings.migration_database_url is None
    assert settings.http_port == 8000
    assert settings.consumer_retry_tiers == (10.0, 60.0, 600.0)
    assert settings.consumer_max_crashes == 3
    assert PlanningSettings.service == "planning"


def test_ignores_other_services_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTSUITE_PLANNING_DATABASE_URL", DB_URL)
    monkeypatch.setenv("AGENTSUITE_CATALOG_DATABASE_URL", "postgresql+asyncpg://other/x")
    monkeypatch.setenv("AGENTSUITE_CATALOG_DB_POOL_SIZE", "99")
    monkeypatch.setenv("AGENTSUITE_SERVICE_DB_POOL_SIZE", "98")  # the base class's prefix
    monkeypatch.setenv("AGENTSUITE_LLM_GATEWAY_MAX_STEPS", "1")

    settings = PlanningSettings()

    assert settings.database_url.get_secret_value() == DB_URL
    assert settings.db_pool_size == 10
    assert settings.max_steps == 20


def test_another_services_database_url_does_not_satisfy_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTSUITE_CATALOG_DATABASE_URL", DB_URL)
    with pytest.raises(ValidationError, match="database_url"):
        PlanningSettings()


def test_invalid_values_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTSUITE_PLANNING_DATABASE_URL", DB_URL)
    monkeypatch.setenv("AGENTSUITE_PLANNING_DB_POOL_SIZE", "0")
    with pytest.raises(ValidationError, match="db_pool_size"):
        PlanningSettings()


def test_database_url_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTSUITE_PLANNING_DATABASE_URL", DB_URL)
    monkeypatch.setenv("AGENTSUITE_PLANNING_MIGRATION_DATABASE_URL", DB_URL + "-owner")

    settings = PlanningSettings()

    assert isinstance(settings.database_url, SecretStr)
    assert isinstance(settings.migration_database_url, SecretStr)
    for shown in (repr(settings), str(settings), settings.model_dump_json()):
        assert "hunter2" not in shown
    assert "hunter2" not in repr(settings.database_url)
    assert settings.migration_database_url.get_secret_value() == DB_URL + "-owner"
