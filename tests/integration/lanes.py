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

`BROKER_INDEPENDENT` files must not build a Kafka client in test code: wherever such a
test runs (lane 1, a developer's run) it fails (see `guard`), so a Kafka assertion added to
a listed file later cannot pass unnoticed. `SETUP_THROUGH_BROKER` files do send through the
broker, in setup only (a plan announced as planning would, then awaited in execution's
projection); the lane-2 tests that assert that path are named above the entries.
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
    # discovery: its LLM loop through the real gateway (test_scripted_session.py,
    # test_gateway_killed_mid_turn.py) reads its events off the broker in test code, so it
    # stays in both lanes (the kill test brings a broker of its own, as
    # llm_gateway/test_crash_recovery.py does); so does every file whose sessions take a
    # turn (answered by llm_support's fake gateway, a Kafka consumer in test code)
    "discovery/test_schemathesis.py": "schemathesis over discovery's OpenAPI: HTTP answers",
    "discovery/test_cross_tenant.py": "every route aimed at another tenant: HTTP and rows",
    "discovery/test_api.py": "objectives and sessions opened, no turn answered: HTTP, rows",
    "discovery/test_hostile_cursors.py": "cursors past the seq column: HTTP",
    "discovery/test_hostile_objectives.py": "PUTs racing on one If-Match: HTTP and rows",
    "discovery/test_schema.py": "RLS on every table and migration drift: PostgreSQL",
    # identity: every file stays in both lanes. With its HTTP-only files left out, lane 2
    # failed three test_service_accounts tests with "token is signed with an unknown key"
    # (they passed in lane 1 and in every lane 2 before the split); not understood yet
    # execution: the engine is a PostgreSQL job queue (plans approved and runs started
    # through the handlers, in a unit of work); tools called over HTTP and MCP
    "execution/test_engine.py": "plans run by the engine's workers: rows",
    "execution/test_review_engine.py": "engine review findings: rows",
    "execution/test_state_machine.py": "hypothesis' state machine over the engine: rows",
    "execution/test_bounds.py": "bounds of plans and sub-plans: rows",
    "execution/test_fairness.py": "tenants served fairly by the workers: rows",
    "execution/test_cancel_contention.py": "cancel racing the workers: rows",
    "execution/test_engine_wakeups.py": "LISTEN lost and regained: PostgreSQL NOTIFY",
    "execution/test_http_tool.py": "the http tool against local servers: HTTP",
    "execution/test_http_auth.py": "the http tool's auth schemes: HTTP",
    "execution/test_mcp_tool.py": "the mcp tool against a real MCP server: HTTP",
    "execution/test_secrets.py": "the secrets store: HTTP and rows",
    "execution/test_hostile_tool_output.py": "tool answers PostgreSQL cannot hold: rows",
    "execution/test_roles.py": "role events applied in a unit of work: rows",
    # llm-gateway: its edge and admin API over HTTP, against stub upstreams; what it does
    # over Kafka (requests, replies, the cache end to end, a crash mid-call, refusals of
    # Kafka requests, text it cannot store in a Kafka request) stays in both lanes
    "llm_gateway/test_schemathesis.py": "schemathesis over the gateway's OpenAPI: HTTP",
    "llm_gateway/test_cross_tenant.py": "every route aimed at another tenant: HTTP and rows",
    "llm_gateway/test_cross_org.py": "every route aimed at another org: HTTP and rows",
    "llm_gateway/test_upstream_abuse.py": "hostile upstreams at the adapters: HTTP",
    "llm_gateway/test_review_faults.py": "hostile clients and upstreams at the edge: HTTP",
    "llm_gateway/test_review_security.py": "secrets and SSRF at the edge: HTTP and rows",
    "llm_gateway/test_review_money.py": "reservations and settlement: HTTP and rows",
    "llm_gateway/test_fallbacks.py": "retries and fallbacks over HTTP upstreams",
    "llm_gateway/test_openai_client.py": "the openai client at the edge: HTTP",
    "llm_gateway/test_anthropic.py": "the Anthropic adapter against a stub: HTTP",
    "llm_gateway/test_e2e_anthropic.py": "an Anthropic provider through the edge: HTTP",
    "llm_gateway/test_e2e_prompts.py": "stored prompts through the edge: HTTP",
    "llm_gateway/test_e2e_streams.py": "how streams end, in traces and budgets: HTTP, rows",
    "llm_gateway/test_e2e_cache.py": "the cache through the HTTP edge: HTTP and rows",
    "llm_gateway/test_e2e_callers.py": "attribution of HTTP callers: HTTP, rows, outbox",
    "llm_gateway/test_e2e_traces.py": "traces and usage of HTTP calls: HTTP and rows",
    "llm_gateway/test_usage_e2e.py": "a call in traces, usage and the outbox: HTTP, rows",
    "llm_gateway/test_budgets_e2e.py": "budgets through the HTTP edge: HTTP and rows",
    "llm_gateway/test_budgets.py": "budget reservations racing: PostgreSQL",
    "llm_gateway/test_budgets_api.py": "budgets admin API: HTTP and rows",
    "llm_gateway/test_routing_api.py": "routing admin API: HTTP and rows",
    "llm_gateway/test_prompts.py": "prompts API: HTTP and rows",
    "llm_gateway/test_usage_api.py": "usage and traces API: HTTP and rows",
    "llm_gateway/test_providers.py": "providers API: HTTP, rows and the outbox",
    "llm_gateway/test_providers_rotation.py": "credential key rotation: rows",
    "llm_gateway/test_catalogs.py": "the catalogue cache and NOTIFY: PostgreSQL",
    "llm_gateway/test_partitions.py": "monthly partitions of calls: PostgreSQL",
    "llm_gateway/test_recorder.py": "the recorder's batches and rollups: PostgreSQL",
    "llm_gateway/test_hostile_budget_settle.py": "settlement of answered calls: rows",
    "llm_gateway/test_startup.py": "schema drift and RLS at start: PostgreSQL",
    # planning: plans made, edited, validated and approved over HTTP; what it consumes
    # (feeds, drafting through the gateway, redelivery, refusals) stays in both lanes
    "planning/test_schemathesis.py": "schemathesis over planning's OpenAPI: HTTP answers",
    "planning/test_cross_tenant.py": "every route aimed at another tenant: HTTP and rows",
    "planning/test_api.py": "plans, versions, labels and approval: HTTP, rows, outbox",
    "planning/test_hostile.py": "unstorable, deep and oversized plans: HTTP and rows",
    "planning/test_schema.py": "RLS on every table and migration drift: PostgreSQL",
    # planning: the golden path (discovery -> draft -> approval -> a run, then drift) runs
    # on a broker of its own, started by the test, so lane 2's Apache Kafka never sees it
    "planning/test_golden_path.py": "the golden path on its own embedded broker: HTTP, rows",
    "planning/test_trigger_to_run.py": "a webhook run on the golden path's own broker: HTTP, rows",
    # the kit, on the sample service's database
    "test_jwt.py": "JWT verification against a JWKS server: HTTP",
    "test_jwks_refresh.py": "the key set's refresh over time: HTTP",
    "test_jobs.py": "durable jobs: PostgreSQL",
    "test_idempotency.py": "Idempotency-Key: HTTP and rows",
    "test_rls.py": "row-level security: PostgreSQL",
    "test_migrations.py": "migrations and drift: PostgreSQL",
    "test_http_contention.py": "a deadlock answered 503: HTTP and PostgreSQL",
    "test_uow.py": "deferred writes of the unit of work: rows",
    "test_uow_hooks.py": "commit hooks and NOTIFY: PostgreSQL",
    "test_engine_keepalive.py": "the server's TCP keepalive settings: PostgreSQL",
}

SETUP_THROUGH_BROKER: dict[str, str] = {
    # execution's routes need an approved plan: it is published on `planning.plans.v1`
    # and awaited in execution's projection (`test_api.runnable`, `populate_support.populate`);
    # lane 2 asserts that path in execution/test_projections.py and test_api.py
    "execution/test_schemathesis.py": "schemathesis over execution's OpenAPI: HTTP answers",
    "execution/test_cross_tenant.py": "every route aimed at another tenant: HTTP and rows",
    "execution/test_cross_org.py": "every route aimed at another org: HTTP and rows",
    "execution/test_hostile_text.py": "NUL and lone surrogates on every body route: HTTP",
    "execution/test_hostile_depth.py": "inputs nested 300 deep: HTTP",
    "execution/test_hostile_numbers.py": "numbers past a double, at the routes: HTTP",
}


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
