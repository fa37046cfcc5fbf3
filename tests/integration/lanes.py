"""Which integration tests CI's lane 2 (Apache Kafka) leaves to lane 1, and why.

Lane 2 exists to hold the broker's semantics to a second implementation: groups,
rebalances, offsets, ordering, redelivery, dead letters. A test whose assertions are on
HTTP answers and PostgreSQL rows gives the same result on either broker, so it runs once
(lane 1, `make test`) and carries the marker `broker_independent`; lane 2 runs
`pytest -m "integration and not broker_independent"`. The rule of the project guide:
slow scenarios run once, not per lane.

Listed conservatively: a file whose tests produce to or consume from Kafka in what they
assert stays in both lanes, even when most of it is HTTP. The apps these tests start
still connect to the session's broker (their consumers join, their relay publishes);
starting an app on Apache Kafka stays covered in lane 2 by every file not listed here.

`BROKER_INDEPENDENT` files must not build a Kafka client in test code: lane 1 fails any
such test (see `guard`), so a Kafka assertion added to a listed file later cannot pass
unnoticed. `SETUP_THROUGH_BROKER` files do send through the broker, in setup only (a
plan announced as planning would, then awaited in execution's projection); the lane-2 test
that asserts that path is named with each.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from agentsuite_kit.messaging.consumer import Consumer

HERE = Path(__file__).parent
TESTS = HERE.parent

BROKER_INDEPENDENT: dict[str, str] = {
    # catalog
    "catalog/test_schemathesis.py": "schemathesis over catalog's OpenAPI: HTTP answers",
    "catalog/test_cross_tenant.py": "every route aimed at another tenant: HTTP and rows",
    "catalog/test_export.py": "OpenAI/MCP export of a version: HTTP",
    "catalog/test_import_mcp.py": "MCP import from a real MCP server: HTTP and rows",
    "catalog/test_schema.py": "RLS on every table and migration drift: PostgreSQL",
    "catalog/test_search.py": "full text and trigram search: PostgreSQL",
    # identity
    "identity/test_schemathesis.py": "schemathesis over identity's OpenAPI: HTTP answers",
    "identity/test_cross_tenant.py": "every route aimed at another tenant: HTTP and rows",
    "identity/test_cross_org.py": "every route aimed at another org: HTTP and rows",
    "identity/test_role_matrix.py": "role x route matrix: HTTP statuses",
    "identity/test_hostile_text.py": "NUL and lone surrogates on every body route: HTTP",
    "identity/test_hostile_deep_decision.py": "a deeply nested context: HTTP",
    "identity/test_disabled_accounts.py": (
        "revocation list over HTTP between identity and execution: HTTP"
    ),
    "identity/test_rate_limit_processes.py": (
        "a key's rate limit shared by two processes: PostgreSQL rows"
    ),
    "identity/test_authz_changes_processes.py": (
        "caches across processes told by PostgreSQL's NOTIFY"
    ),
    "identity/test_email_lookup.py": "the grant's lookup plan: PostgreSQL EXPLAIN",
    "identity/test_forged_tokens.py": "a forged-token corpus refused: HTTP",
}

SETUP_THROUGH_BROKER: dict[str, str] = {}


def listed() -> dict[str, str]:
    """Every file lane 2 leaves out, with its reason; a listed file that is gone is an
    error (a renamed test must not slip back into both lanes, or out of both)."""
    both = {**BROKER_INDEPENDENT, **SETUP_THROUGH_BROKER}
    missing = sorted(name for name in both if not (HERE / name).is_file())
    if missing:
        raise LookupError(f"tests/integration/lanes.py lists files that do not exist: {missing}")
    return both


def strict(item_path: Path) -> bool:
    """Whether the guard holds for this file (it does not for setup through the broker)."""
    return item_path.relative_to(HERE).as_posix() in BROKER_INDEPENDENT


class BrokerTouched(AssertionError):
    """A test listed as broker-independent built a Kafka client itself."""


def _guarded(cls: type, original: Callable[..., None], where: str) -> Callable[..., None]:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        # the frame that named the class: test code, or the kit building an app's clients
        caller = Path(sys._getframe(1).f_code.co_filename)
        if caller.is_relative_to(TESTS):
            raise BrokerTouched(
                f"{where} is listed as broker-independent in tests/integration/lanes.py "
                f"(lane 2 skips it) but builds {cls.__name__} in {caller.name}: "
                "take it off the list, or move the Kafka part to a file lane 2 runs"
            )
        original(self, *args, **kwargs)

    return __init__


@contextmanager
def guard(where: str) -> Iterator[None]:
    """While one listed test runs: test code building a Kafka client fails it."""
    classes: list[type] = [AIOKafkaProducer, AIOKafkaConsumer, AIOKafkaAdminClient, Consumer]
    originals = {cls: cls.__dict__["__init__"] for cls in classes}
    for cls, original in originals.items():
        setattr(cls, "__init__", _guarded(cls, original, where))  # noqa: B010  # mypy: no direct assignment to a method
    try:
        yield
    finally:
        for cls, original in originals.items():
            setattr(cls, "__init__", original)  # noqa: B010  # as above
