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
from agentsuite_contracts.registry import REGISTRY, Registry, partition_key, subject_of
from agentsuite_contracts.topic_names import (
    LLM_RESPONSES_V1,
    LLM_USAGE_V1,
    REPLY_TOPICS,
    reply_topic,
)

pytestmark = pytest.mark.unit


def test_services() -> None:
    assert len(SERVICES) == len(set(SERVICES)) == 7
    assert "llm-gateway" in SERVICES
    assert "audit" in SERVICES


def test_topic_names_unique_and_versioned() -> None:
    names = [t.name for t in TOPICS]
    assert len(names) == len(set(names))
    for name in names:
        home = REGISTRY.home_of(name)
        if home is None:
            assert re.fullmatch(r"[a-z]+\.[a-z_]+\.v[1-9][0-9]*", name), name
        else:  # a reply topic: its home's name with the reader before the version
            stem, version = home.name.rsplit(".", 1)
            assert re.fullmatch(rf"{re.escape(stem)}\.[a-z_]+\.{version}", name), name


def test_each_type_on_exactly_one_topic_besides_reply_topics() -> None:
    homes = [t for t in TOPICS if REGISTRY.home_of(t.name) is None]
    counts = Counter(ty for t in homes for ty in t.types)
    assert [ty for ty, n in counts.items() if n != 1] == []
    assert len(counts) == len(PAYLOADS) == len(set(PAYLOADS))
    # the only reply topics: a requester's own answers, LlmResponse and nothing else
    replies = {t.name: t.types for t in TOPICS if REGISTRY.home_of(t.name) is not None}
    assert replies == {name: ("llm.completion.responded",) for name in REPLY_TOPICS.values()}


def test_reply_topics_of_the_requesters() -> None:
    responses = topic(LLM_RESPONSES_V1)
    assert responses.replies == tuple(REPLY_TOPICS.values())
    for service in ("execution", "discovery", "planning"):
        mine = topic(reply_topic(service))
        assert mine.name == f"llm.responses.{service}.v1"
        assert REGISTRY.home_of(mine.name) is responses
        assert (mine.key, mine.owner, mine.consumers) == ("request_id", "llm-gateway",
                                                          (service, "audit"))  # fmt: skip
        assert mine.payloads == (LlmResponse,)
        REGISTRY.check_subscription("replies", mine.name, [LlmResponse])
    # the type's home stays the shared topic: lookups, keys and subjects follow it
    assert topic_for_type("llm.completion.responded") is responses
    assert payload_class("llm.completion.responded") is LlmResponse
    answer = LlmResponse(request_id=uuid7(), requester="execution", status="ok", latency_ms=1)
    assert subject_of(answer) == Subject(type="request", id=str(answer.request_id))
    env = Envelope(
        producer="llm-gateway",
        tenant_id=uuid7(),
        subject=subject_of(answer),
        correlation_id=uuid7(),
        payload=answer,
    )
    assert partition_key(env, reply_topic("execution")) == str(answer.request_id)
    assert REGISTRY.home_of(LLM_RESPONSES_V1) is None
    with pytest.raises(KeyError, match=r"no reply topic for requester 'catalog'"):
        reply_topic("catalog")


def _reply(name: str, payloads: tuple[type[Payload], ...] = (LlmResponse,), **kw: Any) -> Topic:
    return Topic(
        **{
            **_fields(topic(LLM_RESPONSES_V1)),
            "name": name,
            "payloads": payloads,
            "replies": (),
            **kw,
        }
    )


def _home(*replies: str) -> Topic:
    return Topic(**{**_fields(topic(LLM_RESPONSES_V1)), "replies": replies})


def test_a_type_on_two_topics_without_a_reply_declaration_is_refused() -> None:
    copy = _reply("llm.copies.v1")
    with pytest.raises(ValueError, match=r"llm.completion.responded is on both llm.responses.v1 "):
        Registry((_home(), copy))
    # declared by a topic that is not the type's home: still two homes for the type
    usage = _fields(topic(LLM_USAGE_V1))
    other = Topic(
        **{
            **usage,
            "key": "request_id",
            "payloads": (UsageRecorded,),
            "replies": ("llm.copies.v1",),
        }
    )
    with pytest.raises(ValueError, match=r"carries \['llm.completion.responded'\], which "):
        Registry((_home(), other, copy))


def test_a_declared_reply_topic_shares_its_homes_type() -> None:
    home, mine = _home("llm.responses.x.v1"), _reply("llm.responses.x.v1")
    reg = Registry((mine, home))  # in either order
    assert reg.topic_for_type("llm.completion.responded") is home
    assert reg.home_of("llm.responses.x.v1") is home
    reg.check_subscription("replies", "llm.responses.x.v1", [LlmResponse])


@pytest.mark.parametrize(
    ("topics", "message"),
    [
        ((lambda: (_home("llm.responses.x.v1"),)), "declares reply topic llm.responses.x.v1, "
         "which is not registered"),
        ((lambda: (_home("llm.responses.x.v1"), _reply("llm.responses.x.v1", key="tenant_id"))),
         "is not keyed and kinded like"),
        ((lambda: (_home("llm.responses.x.v1"),
                   _reply("llm.responses.x.v1", payloads=(LlmResponse, UsageRecorded),
                          key="request_id"))),
         r"carries \['llm.usage.recorded'\], which llm.responses.v1 does not"),
        ((lambda: (_home("llm.responses.x.v1"),
                   _reply("llm.responses.x.v1", replies=("llm.responses.y.v1",)),
                   _reply("llm.responses.y.v1"))),
         "declares reply topics of its own"),
    ],
)  # fmt: skip
def test_a_reply_topic_must_fit_its_home(topics: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Registry(topics())


def test_a_reply_topic_has_one_home() -> None:
    first = _home("llm.responses.x.v1")
    second = Topic(**{**_fields(first), "name": "llm.answers.v1"})
    with pytest.raises(ValueError, match=r"declared by llm\.responses\.v1 and llm\.answers\.v1"):
        Registry((first, second, _reply("llm.responses.x.v1")))


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
