"""The topic registry: names, ownership, one topic per message type, lookups."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from agentsuite_contracts import (
    PAYLOADS,
    SERVICES,
    TOPICS,
    envelope_adapter,
    payload_class,
    topic,
    topic_for_type,
    type_of,
)
from agentsuite_contracts.planning import PlanApproved

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
    for t in TOPICS:
        if t.key.isidentifier():  # otherwise the key is described, e.g. the envelope tenant
            for cls in t.payloads:
                assert t.key in cls.model_fields, f"{cls.__name__} lacks key {t.key}"


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
    assert plans.dlq == "planning.plans.v1.dlq"
    assert topic(plans.dlq) is plans
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
