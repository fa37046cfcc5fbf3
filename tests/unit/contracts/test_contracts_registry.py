"""The topic registry: names, ownership, kinds, keys, one topic per message type, lookups."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Literal

import pytest
from pydantic import Field, ValidationError

from agentsuite_contracts import (
    PAYLOADS,
    SERVICES,
    TOPICS,
    Envelope,
    Money,
    Payload,
    Subject,
    Topic,
    envelope_adapter,
    kind_of,
    payload_class,
    topic,
    topic_for_type,
    type_of,
    uuid7,
)
from agentsuite_contracts.common import Usage
from agentsuite_contracts.llm import LlmRequest, LlmResponse, UsageRecorded
from agentsuite_contracts.planning import PlanApproved, PlanArchived
from agentsuite_contracts.registry import partition_key, subject_of

pytestmark = pytest.mark.unit


def test_services() -> None:
    assert len(SERVICES) == len(set(SERVICES)) == 7
    assert "llm-gateway" in SERVICES
    assert "audit" in SERVICES


def test_topic_names_unique_and_versioned() -> None:
    names = [t.name for t in TOPICS]
    assert len(names) == len(set(names))
    for name in names:
        assert re.fullmatch(r"[a-z]+\.[a-z_]+\.v[1-9][0-9]*", name), name


def test_each_type_on_exactly_one_topic() -> None:
    counts = Counter(ty for t in TOPICS for ty in t.types)
    assert [ty for ty, n in counts.items() if n != 1] == []
    assert len(counts) == len(PAYLOADS) == len(set(PAYLOADS))


def test_ownership_and_consumers() -> None:
    for t in TOPICS:
        assert t.owner in SERVICES
        assert t.owner != "audit"  # audit publishes nothing
        assert set(t.consumers) <= set(SERVICES)
        assert "audit" in t.consumers  # audit keeps every domain topic
        assert t.partitions > 0
        prefix = t.name.split(".")[0]
        assert all(ty.startswith(prefix + ".") for ty in t.types)
    assert {t.owner for t in TOPICS} == set(SERVICES) - {"audit"}


def test_key_field_on_every_payload() -> None:
    missing = [
        f"{t.name}: {cls.__name__} lacks {t.key}"
        for t in TOPICS
        for cls in t.payloads
        if t.key not in cls.model_fields
    ]
    # `tenant_id` absent from the payload names the envelope's tenant
    assert missing == [
        "llm.usage.v1: UsageRecorded lacks tenant_id",
        "llm.usage.v1: LlmBudgetWarning lacks tenant_id",
        "llm.usage.v1: LlmBudgetExceeded lacks tenant_id",
    ]


def test_topic_without_its_key_field_rejected() -> None:
    with pytest.raises(ValidationError, match=r"key: PlanDrafted has no field 'tool_id'"):
        Topic(**{**_fields(topic("planning.plans.v1")), "key": "tool_id"})


def _fields(t: Topic) -> dict[str, Any]:
    return {name: getattr(t, name) for name in Topic.model_fields}


def test_every_payload_is_an_event_or_a_command() -> None:
    kinds = {type_of(c): kind_of(c) for c in PAYLOADS}
    assert [ty for ty, k in kinds.items() if k == "commands"] == ["llm.completion.requested"]
    assert kinds["planning.schedule.fired"] == "events"  # execution reacts to the fact


def test_signing_key_topic_promises_what_verifiers_do() -> None:
    # the kit's verifiers refresh the JWKS on a timer and on an unknown kid; none consumes this
    text = topic("identity.signing_keys.v1").description
    assert "refresh the JWKS on a timer and when a token names an unknown `kid`" in text
    assert topic("identity.signing_keys.v1").consumers == ("audit",)


def test_topic_kind_matches_its_payloads() -> None:
    assert topic("llm.requests.v1").kind == "commands"
    assert {t.kind for t in TOPICS if t.name != "llm.requests.v1"} == {"events"}
    for t in TOPICS:
        assert {kind_of(c) for c in t.payloads} == {t.kind}


def test_topic_mixing_kinds_rejected() -> None:
    base = _fields(topic("llm.requests.v1"))
    with pytest.raises(ValidationError, match=r"payloads: LlmResponse is not of kind 'commands'"):
        Topic(**{**base, "payloads": (LlmRequest, LlmResponse)})


def test_command_topic_has_one_acting_consumer() -> None:
    base = _fields(topic("llm.requests.v1"))
    with pytest.raises(ValidationError, match=r"consumers: a command topic has one service"):
        Topic(**{**base, "consumers": ("llm-gateway", "execution", "audit")})


def test_payload_of_neither_kind_rejected() -> None:
    class Bare(Payload):
        type: Literal["x.bare.made"] = Field(default="x.bare.made", description="type")
        request_id: int = Field(description="id")

    with pytest.raises(TypeError, match="Bare must subclass exactly one of Event and Command"):
        kind_of(Bare)
    with pytest.raises(ValidationError, match="exactly one of Event and Command"):
        Topic(**{**_fields(topic("llm.requests.v1")), "payloads": (Bare,)})


def test_partition_key_and_subject_follow_the_key_field() -> None:
    plan_id = uuid7()
    env = Envelope(
        producer="planning",
        tenant_id=uuid7(),
        subject=Subject(type="plan", id=str(plan_id)),
        correlation_id=uuid7(),
        payload=PlanArchived(plan_id=plan_id),
    )
    assert partition_key(env) == str(plan_id)
    assert subject_of(env.payload) == Subject(type="plan", id=str(plan_id))
    usage = UsageRecorded(
        request_id=uuid7(),
        requester="api",
        model="m",
        provider="p",
        usage=Usage(
            prompt_tokens=1, completion_tokens=1, total_tokens=2, cost=Money(amount_micros=3)
        ),
        latency_ms=1,
        status="ok",
    )
    tenant = uuid7()
    metered = env.caused(usage, producer="llm-gateway").model_copy(update={"tenant_id": tenant})
    assert partition_key(metered) == str(tenant)


def test_expected_topics() -> None:
    names = {t.name for t in TOPICS}
    assert {
        "identity.tenants.v1",
        "identity.users.v1",
        "catalog.tools.v1",
        "discovery.sessions.v1",
        "planning.plans.v1",
        "execution.executions.v1",
        "llm.requests.v1",
        "llm.responses.v1",
        "llm.usage.v1",
    } <= names


def test_lookup() -> None:
    plans = topic("planning.plans.v1")
    assert plans.key == "plan_id"
    assert topic_for_type("planning.plan.approved") is plans
    assert payload_class("planning.plan.approved") is PlanApproved
    assert type_of(PlanApproved) == "planning.plan.approved"
    assert "planning.plan.approved" in plans.types


def test_unknown_lookups_raise_clearly() -> None:
    with pytest.raises(KeyError, match=r"unknown topic 'planning\.plans\.v9'; known: "):
        topic("planning.plans.v9")
    with pytest.raises(KeyError, match=r"unknown message type 'x\.y\.z'"):
        topic_for_type("x.y.z")


def test_adapters_cached() -> None:
    plans = topic("planning.plans.v1")
    assert envelope_adapter(plans) is envelope_adapter("planning.plans.v1")
    assert envelope_adapter() is envelope_adapter(None)


def test_topic_frozen() -> None:
    with pytest.raises(ValueError, match="frozen"):
        topic("planning.plans.v1").partitions = 1  # type: ignore[misc]  # must fail


def test_every_topic_has_one_constant_named_after_it() -> None:
    from agentsuite_contracts import topic_names

    constants = {
        attr: value
        for attr, value in vars(topic_names).items()
        if attr.isupper() and isinstance(value, str)
    }
    assert sorted(constants.values()) == sorted(t.name for t in TOPICS)
    for attr, value in constants.items():
        assert attr == value.upper().replace(".", "_")
