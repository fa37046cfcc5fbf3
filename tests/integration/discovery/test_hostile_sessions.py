"""A hostile user's sessions: prefill that already meets the gate, prefill confidences that
are not numbers, races on one session. Each a clear outcome, never a session left waiting."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.discovery.harness import Service
from tests.integration.discovery.llm_support import (
    FakeGateway,
    User,
    extraction,
    extractions,
    with_objective,
)

EVERYTHING = {
    "goal": {"value": "tell people", "confidence": 1},
    "channel": {"value": "email", "confidence": 0.95},
    "approver": {"value": "the team lead", "confidence": 0.9},
}


async def test_a_prefill_that_meets_the_gate_completes_the_session_at_once(
    service: Service,
) -> None:
    user = User(service)
    await with_objective(user)
    view = await user.open("notify", prefill=EVERYTHING)
    # nothing is left to ask: waiting for a turn (or a complete call) would leave it hanging
    assert (view["status"], view["question"]) == ("completed", None), view
    assert view["requirements"]["forced"] is False
    assert view["requirements"]["gaps"] == []
    completed = [
        e
        for e in await service.events(user.tenant, view["id"])
        if e["type"] == "discovery.session.completed"
    ]
    assert len(completed) == 1
    r = await user.post(f"/v1/sessions/{view['id']}/turns", {"content": "more"})
    assert (r.status_code, r.json()["code"]) == (409, "session_closed")


@pytest.mark.parametrize("confidence", ["true", '"0.5"', "NaN", "1.5", '"x"', "-0.1"], ids=str)
async def test_a_prefill_confidence_that_is_no_number_0_to_1_is_a_422_naming_it(
    service: Service, confidence: str
) -> None:
    user = User(service)
    prefill = f'{{"goal": {{"value": "a goal", "confidence": {confidence}}}}}'
    body = f'{{"title": "t", "prefill": {prefill}}}'
    headers = user.headers() | {"Content-Type": "application/json"}
    r = await service.client.post("/v1/sessions", content=body.encode(), headers=headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    located: Any = r.json().get("errors") or r.json().get("field")
    assert "confidence" in str(located), r.text


WIDE = {
    "key": "wide",
    "title": "Values as large as a request may carry",
    "obligations": [
        {"key": "goal", "title": "Goal", "kind": "goal"},
        {"key": "detail", "title": "Detail"},
    ],
}


async def test_values_a_completed_event_cannot_carry_are_refused_and_the_session_completes(
    service: Service, gateway: FakeGateway
) -> None:
    user = User(service)
    await with_objective(user, WIDE)
    goal = {"goal": {"value": "g" * 500_000, "confidence": 1}}
    view = await user.open("wide", prefill=goal)
    gateway.script(user.tenant, extractions(extraction("detail", "d" * 60_000, confidence=1)))
    # the requirements (the goal's value, its text, the detail) go out in one event: the
    # answer that completes the session must not be one the outbox refuses
    done = await user.say(view["id"], "the detail")
    assert done["status"] == "completed", done["status"]
    events = [e["type"] for e in await service.events(user.tenant, view["id"])]
    assert "discovery.session.completed" in events
    # past the session's budget a value is refused (recorded, with why); forcing still works
    huge = await user.open("wide", prefill={"goal": {"value": "g" * 700_000, "confidence": 0.5}})
    [refused] = await user.extractions(huge["id"])
    assert refused["applied"] is False
    assert refused["reason"].startswith("invalid_value: "), refused["reason"]
    forced = await user.post(f"/v1/sessions/{huge['id']}/complete", {"force": True})
    assert (forced.status_code, forced.json()["status"]) == (200, "completed"), forced.text


async def test_a_prefilled_value_as_large_as_a_request_is_refused_not_a_500(
    service: Service,
) -> None:
    user = User(service)
    room = service.deps.settings.max_request_bytes - 200
    view = await user.open(prefill={"goal": {"value": "g" * room, "confidence": 1}})
    [refused] = await user.extractions(view["id"])
    # kept as null: the event announcing the refusal could not carry the value itself
    assert (refused["applied"], refused["value"]) == (False, None)
    assert refused["reason"].startswith("invalid_value: "), refused["reason"]
