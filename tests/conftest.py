"""Session-wide servers: embedded PostgreSQL and broker, or external ones from the env.

`AGENTSUITE_TEST_DATABASE_URL` (a role that may create roles and databases) and
`AGENTSUITE_TEST_KAFKA_BOOTSTRAP_SERVERS` replace the embedded servers when set.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Literal

import pytest
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentsuite_cli.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from tests.integration import lanes

ROOT = Path(__file__).parent

# The services' apps under test start once their consumer groups have joined: a scenario
# must not start before its consumers can hear it (on Apache Kafka a join can outlast a
# test's deadline, and a group stopped mid-join failed its teardown). Tests of the
# background join (test_restart_after_kill, the gateway's crash recovery) turn it off for
# the processes they start.
for _service in ("IDENTITY", "LLM_GATEWAY", "EXECUTION", "SAMPLE"):
    os.environ.setdefault(f"AGENTSUITE_{_service}_CONSUMERS_JOIN_BEFORE_READY", "true")


class TestSettings(BaseSettings):
    """The suite's only window on the environment."""

    __test__ = False  # not a test class, despite the name
    model_config = SettingsConfigDict(env_prefix="AGENTSUITE_TEST_", extra="ignore")

    database_url: str | None = None
    kafka_bootstrap_servers: str | None = None
    kafka_flavor: Literal["tansu", "apache"] = "tansu"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    once = lanes.listed()
    for item in items:
        path = Path(str(item.fspath))
        rel = path.relative_to(ROOT).parts
        if rel and rel[0] in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, rel[0]))
        if rel and rel[0] == "integration" and path.relative_to(lanes.HERE).as_posix() in once:
            item.add_marker(pytest.mark.broker_independent)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """A test lane 2 skips as broker-independent fails in lane 1 if its own code builds a
    Kafka client (`tests/integration/lanes.py`)."""
    path = Path(str(item.fspath))
    if item.get_closest_marker("broker_independent") is None or not lanes.strict(path):
        return (yield)
    with lanes.guard(path.relative_to(ROOT.parent).as_posix()):
        return (yield)


@pytest.fixture(scope="session")
def test_settings() -> TestSettings:
    return TestSettings()


@pytest.fixture(scope="session")
def pg_admin_url(
    test_settings: TestSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if test_settings.database_url:
        yield test_settings.database_url
        return
    # throwaway data: durability traded for speed, unlike `agentsuite up`'s server
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg-home"), free_port(), fsync=False)
    pg.start()
    try:
        yield pg.url()
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(
    test_settings: TestSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if test_settings.kafka_bootstrap_servers:
        yield test_settings.kafka_bootstrap_servers
        return
    broker = EmbeddedBroker(tmp_path_factory.mktemp("broker-home"), free_port())
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def worker_id_suffix() -> str:
    return str(os.getpid())
