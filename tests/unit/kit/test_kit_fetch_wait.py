"""How long a group's fetch may wait at the broker for records. Tansu answers an idle fetch
only when its wait is up (a record produced meanwhile does not end it), so a record waits
up to the whole fetch wait before it is delivered: the request/answer loop of an LLM call,
which a user waits on, asks for a short wait; the other groups keep aiokafka's 500 ms,
which costs an idle service (and the broker) far less."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from agentsuite_kit.db.uow import UnitOfWork
from agentsuite_kit.llm import LlmClient, Replies
from agentsuite_kit.messaging.group import ConsumerGroup
from agentsuite_kit.runtime import INTERACTIVE_FETCH_WAIT_MS, ConsumerSpec
from agentsuite_llm_gateway.consumers import consumers
from tests.integration.sample.messages import NoteAdded, sample_registry
from tests.integration.sample.repositories import llm_calls
from tests.unit.kit.test_kit_subscriptions import _consumer, _ignore, _never

pytestmark = pytest.mark.unit


async def _answered(uow: UnitOfWork, call: Any, response: Any, held: Any) -> None:
    del uow, call, response, held


def test_the_llm_request_and_answer_groups_wait_briefly_the_others_as_aiokafka_does() -> None:
    answers = LlmClient[UnitOfWork]("planning", llm_calls).consumer(
        Replies[UnitOfWork](on_answer=_answered)
    )
    assert answers.fetch_wait_ms == INTERACTIVE_FETCH_WAIT_MS
    # the spec's worker reads only its concurrency off the settings until a record comes
    deps = SimpleNamespace(settings=SimpleNamespace(kafka_workers=1))
    (requests,) = consumers(deps)  # type: ignore[arg-type]  # a stand-in for the Deps
    assert requests.fetch_wait_ms == INTERACTIVE_FETCH_WAIT_MS
    assert INTERACTIVE_FETCH_WAIT_MS < 500
    name = "sample.notes.test.v1"
    other = ConsumerSpec[UnitOfWork](
        name="notes", topic=name, handlers={NoteAdded: _ignore}, registry=sample_registry(name)
    )
    assert other.fetch_wait_ms == 500


async def test_a_group_fetches_with_the_wait_it_is_given() -> None:
    name = "sample.notes.test.v1"
    group = ConsumerGroup[UnitOfWork](
        _consumer(), name, "127.0.0.1:9", progress=_never, registry=sample_registry(name),
        fetch_wait_ms=40,
    )  # fmt: skip
    assert group._kafka_consumer(0)._fetch_max_wait_ms == 40
