"""A subscription names a topic of the contracts registry and payloads that topic carries:
anything else would wait for messages no producer sends, so it refuses to be built."""

from __future__ import annotations

from typing import Any

import pytest

from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.identity import RoleAssigned, TenantCreated
from agentsuite_contracts.llm import LlmResponse
from agentsuite_contracts.planning import PlanApproved, PlanDrafted
from agentsuite_contracts.registry import REGISTRY, Topic
from agentsuite_contracts.topic_names import (
    IDENTITY_ROLES_V1,
    LLM_RESPONSES_V1,
    PLANNING_PLANS_V1,
    reply_topic,
)
from agentsuite_execution.engine.llm import CLIENT
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.db.uow import UnitOfWork
from agentsuite_kit.llm import LlmClient, Replies
from agentsuite_kit.messaging.consumer import Consumer
from agentsuite_kit.messaging.group import ConsumerGroup
from agentsuite_kit.runtime import ConsumerSpec
from tests.integration.sample.messages import NoteAdded, notes_topic, sample_registry
from tests.integration.sample.repositories import llm_calls

pytestmark = pytest.mark.unit


async def _ignore(envelope: Envelope[Any], uow: UnitOfWork) -> None:
    del envelope, uow


def test_a_subscription_to_a_registered_topic_and_its_payloads_is_built() -> None:
    spec = ConsumerSpec[UnitOfWork](
        name="plans",
        topic=PLANNING_PLANS_V1,
        handlers={PlanDrafted: _ignore, PlanApproved: _ignore},
    )
    assert spec.topic == PLANNING_PLANS_V1


def test_a_topic_the_registry_does_not_have_refuses() -> None:
    with pytest.raises(ValueError, match=r"consumer plans: topic 'planning\.plan\.v1' is not in"):
        ConsumerSpec[UnitOfWork](
            name="plans", topic="planning.plan.v1", handlers={PlanDrafted: _ignore}
        )


def test_a_payload_its_topic_does_not_carry_refuses_and_says_where_it_travels() -> None:
    with pytest.raises(
        ValueError,
        match=r"topic planning\.plans\.v1 does not carry RoleAssigned .*travels on "
        + IDENTITY_ROLES_V1.replace(".", r"\."),
    ):
        ConsumerSpec[UnitOfWork](
            name="plans",
            topic=PLANNING_PLANS_V1,
            handlers={PlanDrafted: _ignore, RoleAssigned: _ignore},
        )


def test_a_payload_no_registered_topic_carries_refuses() -> None:
    with pytest.raises(ValueError, match=r"does not carry NoteAdded .*no registered topic"):
        ConsumerSpec[UnitOfWork](
            name="notes", topic=PLANNING_PLANS_V1, handlers={NoteAdded: _ignore}
        )


def test_a_test_topic_counts_only_in_the_registry_that_declares_it() -> None:
    name = "sample.notes.test.v1"
    with pytest.raises(ValueError, match="not in the contracts registry"):
        ConsumerSpec[UnitOfWork](name="effects", topic=name, handlers={NoteAdded: _ignore})
    declared = REGISTRY.with_topics(notes_topic(name))
    spec = ConsumerSpec[UnitOfWork](
        name="effects", topic=name, handlers={NoteAdded: _ignore}, registry=declared
    )
    assert spec.registry.topic(name).types == ("sample.note.added",)
    # the declared test topic still carries only what it says
    with pytest.raises(ValueError, match="does not carry TenantCreated"):
        ConsumerSpec[UnitOfWork](
            name="effects", topic=name, handlers={TenantCreated: _ignore}, registry=declared
        )


def test_a_registry_refuses_a_topic_twice_or_a_type_on_two_topics() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        REGISTRY.with_topics(REGISTRY.topic(PLANNING_PLANS_V1))
    clash = Topic(
        name="sample.clash.v1",
        key="tenant_id",
        partitions=1,
        payloads=(TenantCreated,),
        owner="sample",
        consumers=(),
        description="test",
    )
    with pytest.raises(ValueError, match=r"identity\.tenant\.created is on both"):
        REGISTRY.with_topics(clash)


def _never() -> UnitOfWork:
    raise AssertionError("a group that is never started makes no unit of work")


def _consumer() -> Consumer[UnitOfWork]:
    async def publish(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        del topic, key, value, headers

    return Consumer[UnitOfWork](
        group="sample.effects", handlers={NoteAdded: _ignore}, uow=_never, publish=publish
    )


def test_a_consumer_group_of_a_topic_outside_its_registry_refuses() -> None:
    """The kit's own machinery checks too, for whoever builds a group without a spec."""
    name = "sample.notes.test.v1"
    with pytest.raises(ValueError, match=r"consumer sample\.effects: topic .* is not in"):
        ConsumerGroup[UnitOfWork](_consumer(), name, "127.0.0.1:9", progress=_never)
    group = ConsumerGroup[UnitOfWork](
        _consumer(), name, "127.0.0.1:9", progress=_never, registry=sample_registry(name)
    )
    # its retry tiers and dead-letter topic are the kit's, named after the group
    assert group.tiers[0] == "sample.effects.retry.1"


def test_every_further_topic_of_a_subscription_is_checked_too() -> None:
    spec = ConsumerSpec[UnitOfWork](
        name="answers",
        topic=reply_topic("planning"),
        handlers={LlmResponse: _ignore},
        also=(LLM_RESPONSES_V1,),
    )
    assert spec.topics == (reply_topic("planning"), LLM_RESPONSES_V1)
    with pytest.raises(ValueError, match=r"consumer answers: topic 'llm\.responses\.v9' is not"):
        ConsumerSpec[UnitOfWork](
            name="answers",
            topic=reply_topic("planning"),
            handlers={LlmResponse: _ignore},
            also=("llm.responses.v9",),
        )
    with pytest.raises(ValueError, match=r"topic planning\.plans\.v1 does not carry LlmResponse"):
        ConsumerSpec[UnitOfWork](
            name="answers",
            topic=reply_topic("planning"),
            handlers={LlmResponse: _ignore},
            also=(PLANNING_PLANS_V1,),
        )


def test_an_llm_client_reads_its_reply_topic_and_the_shared_one() -> None:
    replies = Replies[UnitOfWork](on_answer=_answered)
    # a requester with a registered reply topic: requests name it, the group reads both
    # execution's own client, as the service wires it
    execution = CLIENT.consumer(Replies[ExecutionUow](on_answer=_answered))
    assert CLIENT.reply_to == reply_topic("execution")
    assert (execution.name, execution.topics) == (
        "responses",  # the group keeps its name, and its offsets on the shared topic
        (reply_topic("execution"), LLM_RESPONSES_V1),
    )
    planning = LlmClient[UnitOfWork]("planning", llm_calls)
    assert planning.consumer(replies).topics == (reply_topic("planning"), LLM_RESPONSES_V1)
    # a requester the registry has no reply topic for stays on the shared topic alone
    other = LlmClient[UnitOfWork]("sample", llm_calls)
    assert (other.reply_to, other.consumer(replies).topics) == (
        LLM_RESPONSES_V1,
        (LLM_RESPONSES_V1,),
    )


async def _answered(uow: UnitOfWork, call: Any, response: Any, held: Any) -> None:
    del uow, call, response, held
