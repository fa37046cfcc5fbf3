"""docker-compose.yml creates the registry's topics as `agentsuite up` does: the broker
runs with auto-creation off, so a compose stack without them had services consuming and
publishing to topics that do not exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from agentsuite_contracts.registry import SERVICES

pytestmark = pytest.mark.unit

COMPOSE = Path(__file__).parents[3] / "docker-compose.yml"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_the_migrate_job_creates_every_registry_topic_before_services_start() -> None:
    services = compose()["services"]
    migrate = services["migrate"]
    script = "\n".join(migrate["command"])
    # the same function `agentsuite up` calls, so the two stacks cannot drift apart
    assert "create_registry_topics" in script
    assert migrate["depends_on"]["kafka"] == {"condition": "service_healthy"}
    assert migrate["environment"]["AGENTSUITE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    for name in SERVICES:
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }, name


def test_execution_and_its_workers_can_open_secrets() -> None:
    """Without `SECRET_KEYS` execution refuses every secret write and a worker cannot open
    the one a tool binding names; `up` mints a key, compose must set one too."""
    services = compose()["services"]
    for name in ("execution", "execution-worker"):
        env = services[name]["environment"]
        assert env.get("AGENTSUITE_EXECUTION_SECRET_KEYS"), name
        assert env.get("AGENTSUITE_EXECUTION_SECRET_KEY_ID"), name


def test_every_service_accepts_api_keys_as_under_up() -> None:
    """`up` hands every service identity's token URL, so an `ask_...` API key works as a
    bearer everywhere; compose's services had only the JWKS URL and refused API keys."""
    services = compose()["services"]
    for name in SERVICES:
        if name == "identity":
            continue
        prefix = f"AGENTSUITE_{name.upper().replace('-', '_')}_"
        env = services[name]["environment"]
        assert env.get(prefix + "IDENTITY_TOKEN_URL") == "http://identity:8000/v1/token", name
