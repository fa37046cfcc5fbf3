"""The LLM loop end to end: discovery's requests go over the real broker to a scripted fake
gateway, whose answers come back on `llm.responses.discovery.v1`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agentsuite_contracts.topic_names import CATALOG_TOOLS_V1
from tests.integration.discovery.catalog_support import (
    applied,
    envelope,
    publish,
    tool_head,
    tool_spec,
)
from tests.integration.discovery.harness import Service
from tests.integration.discovery.llm_support import (
    FakeGateway,
    User,
    extraction,
    extractions,
    failed,
    obligations,
    ok,
    silent,
    with_objective,
)


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


async def test_a_full_session_fills_obligations_resolves_a_contradiction_and_completes(
    service: Service, gateway: FakeGateway
) -> None:
    user = User(service)
    await with_objective(user)
    view = await user.open("notify")
    sid = view["id"]
    assert view["question"]["key"] == "goal:generated"
    gateway.script(
        user.tenant,
        extractions(extraction("goal", "tell customers about outages")),
        extractions(extraction("channel", "email")),
        extractions(extraction("goal", "tell partners about outages", relation="contradicts")),
    )
    view = await user.say(sid, "We want to tell customers about outages")
    assert obligations(view)["goal"]["status"] == "satisfied"
    assert view["question"]["key"] == "channel_q"
    view = await user.say(sid, "By email")
    # the activation rule `answers.channel == "email"` opened the approver's pool question
    assert (view["question"]["key"], view["question"]["source"]) == ("approver_email", "pool")
    view = await user.say(sid, "Actually it is for partners")
    goal = obligations(view)["goal"]
    assert goal["status"] == "contested"
    assert goal["value"] == "tell customers about outages"  # kept until settled
    assert view["question"]["obligation"] == "goal"  # a contested obligation is asked first

    contradiction = [e for e in await user.extractions(sid) if e["relation"] == "contradicts"]
    assert [c["applied"] for c in contradiction] == [True]
    gateway.script(
        user.tenant,
        extractions(
            extraction(
                "goal",
                "tell partners about outages",
                relation="revises",
                supersedes=contradiction[0]["id"],
            )
        ),
        ok({"extractions": [extraction("approver", "ops lead")], "reply": "Thanks."}),
    )
    view = await user.say(sid, "Yes, partners")
    goal = obligations(view)["goal"]
    assert (goal["status"], goal["value"]) == ("satisfied", "tell partners about outages")
    view = await user.say(sid, "The ops lead approves")
    assert view["status"] == "completed", view
    requirements = view["requirements"]
    assert requirements["forced"] is False
    assert requirements["gaps"] == []
    assert requirements["goal"] == "tell partners about outages"
    found = {f["obligation"]: f["value"] for f in requirements["findings"]}
    assert found == {
        "goal": "tell partners about outages",
        "channel": "email",
        "approver": "ops lead",
    }

    events = await service.events(user.tenant, sid)
    assert types(events)[0] == "discovery.session.started"
    assert types(events)[-1] == "discovery.session.completed"
    assert events[-1]["requirements"]["findings"] == requirements["findings"]
    user_turns = [
        e for e in events if e["type"] == "discovery.turn.recorded" and e["role"] == "user"
    ]
    assert len(user_turns) == 5
    contested = [
        e
        for e in events
        if e["type"] == "discovery.obligation.changed" and e["status"] == "contested"
    ]
    assert [e["obligation"] for e in contested] == ["goal"]
    # one request per turn: nothing was asked twice
    assert len({r.request_id for r in gateway.requests(user.tenant)}) == 5
    r = await user.post(f"/v1/sessions/{sid}/turns", {"content": "one more"})
    assert (r.status_code, r.json()["code"]) == (409, "session_closed")


async def test_bad_extractions_are_recorded_as_rejected_and_the_session_goes_on(
    service: Service, gateway: FakeGateway
) -> None:
    user = User(service)
    await with_objective(user)
    view = await user.open("notify", prefill={"goal": {"value": "g", "confidence": 1.0}})
    sid = view["id"]
    gateway.script(
        user.tenant,
        extractions(
            extraction("nope", "x"),
            extraction("channel", "pigeon"),  # the validator allows email or sms
        ),
    )
    view = await user.say(sid, "By pigeon")
    assert view["status"] == "gathering"
    assert obligations(view)["channel"]["status"] == "pending"
    rejected = {
        e["obligation"]: e["reason"] for e in await user.extractions(sid) if not e["applied"]
    }
    assert rejected["nope"].startswith("unknown_obligation")
    assert rejected["channel"].startswith("invalid_value")
    recorded = [
        e
        for e in await service.events(user.tenant, sid)
        if e["type"] == "discovery.extraction.recorded" and not e["applied"]
    ]
    assert len(recorded) == 2
    assert view["question"]["obligation"] == "channel"  # still asked


async def test_an_answer_that_is_not_json_fails_the_turn_and_the_same_question_stays(
    service: Service, gateway: FakeGateway
) -> None:
    user = User(service)
    view = await user.open()
    sid, question = view["id"], view["question"]
    gateway.script(user.tenant, ok("I think the goal is outages {not json"))
    view = await user.say(sid, "Outages")
    assert (view["status"], view["question"]) == ("gathering", question)
    turns = await user.turns(sid)
    failed_turn = turns[-1]
    assert (failed_turn["role"], failed_turn["status"]) == ("user", "failed")
    assert failed_turn["reason"].startswith("invalid_answer")
    # the session is not stuck: the next turn goes through
    gateway.script(user.tenant, extractions(extraction("goal", "report outages")))
    view = await user.say(sid, "We want to report outages")
    assert obligations(view)["goal"]["value"] == "report outages"


async def test_an_answer_with_text_postgresql_cannot_hold_fails_the_turn_not_the_consumer(
    service: Service, gateway: FakeGateway
) -> None:
    user = User(service)
    view = await user.open()
    sid = view["id"]
    gateway.script(
        user.tenant,
        extractions(extraction("goal", "bad\u0000value")),
        extractions(extraction("goal", "lone \ud800 surrogate")),
    )
    for said in ("first", "second"):
        view = await user.say(sid, said)
        assert view["status"] == "gathering"
        [turn] = [t for t in await user.turns(sid) if t["content"] == said]
        # the value refused alone (recorded as rejected), or the whole answer (turn failed)
        assert turn["status"] in ("answered", "failed")
    assert obligations(view)["goal"]["status"] == "pending"
    for e in await user.extractions(sid):
        assert e["applied"] is False
        assert e["reason"].startswith(("invalid_value", "invalid_extraction"))


async def test_a_failed_call_fails_the_turn_not_the_session(
    service: Service, gateway: FakeGateway
) -> None:
    user = User(service)
    view = await user.open()
    gateway.script(user.tenant, failed("provider_error"))
    view = await user.say(view["id"], "hello")
    assert view["status"] == "gathering"
    assert (await user.turns(view["id"]))[-1]["reason"].startswith("provider_error")


async def test_a_call_the_gateway_lost_is_asked_anew_and_the_session_finishes(
    service: Service, gateway: FakeGateway
) -> None:
    user = User(service)
    await with_objective(user)
    view = await user.open("notify", prefill={"goal": {"value": "g", "confidence": 1.0}})
    gateway.script(
        user.tenant,
        failed("interrupted"),
        failed("unavailable"),
        extractions(extraction("channel", "sms")),
    )
    view = await user.say(view["id"], "SMS")
    assert obligations(view)["channel"]["value"] == "sms"
    asked = gateway.requests(user.tenant)
    assert len({r.request_id for r in asked}) == 3  # a new request each time


async def test_a_call_lost_more_often_than_retries_allow_fails_the_turn(
    service: Service, gateway: FakeGateway
) -> None:
    user = User(service)
    view = await user.open()
    retries = service.deps.settings.retries
    gateway.script(user.tenant, *[failed("interrupted")] * (retries + 1))
    view = await user.say(view["id"], "hello")
    assert view["status"] == "gathering"
    assert (await user.turns(view["id"]))[-1]["reason"].startswith("interrupted")
    assert len({r.request_id for r in gateway.requests(user.tenant)}) == retries + 1


async def test_a_turn_while_thinking_is_busy_and_abandoning_stops_waiting(
    service: Service, gateway: FakeGateway
) -> None:
    user = User(service)
    view = await user.open()
    sid = view["id"]
    gateway.script(user.tenant, silent)
    r = await user.post(f"/v1/sessions/{sid}/turns", {"content": "first"})
    assert r.status_code == 202, r.text
    busy = await user.post(f"/v1/sessions/{sid}/turns", {"content": "second"})
    assert (busy.status_code, busy.json()["code"]) == (409, "session_busy")
    done = await user.post(f"/v1/sessions/{sid}/abandon", {})
    assert done.json()["status"] == "abandoned"
    rows = await service.owner_sql(
        "SELECT state FROM llm_calls WHERE session_id = :s", s=view["id"]
    )
    assert [r[0] for r in rows] == ["abandoned"]


async def test_the_turn_cap_abandons_the_session(service: Service, gateway: FakeGateway) -> None:
    user = User(service)
    view = await user.open()
    sid = view["id"]
    await service.owner_sql(
        "UPDATE sessions SET turns = :n WHERE id = :s",
        n=service.deps.settings.max_turns - 1,
        s=sid,
    )
    gateway.script(user.tenant, extractions(extraction("goal", "x", confidence=0.1)))
    view = await user.say(sid, "one more")
    assert (view["status"], view["reason"]) == ("abandoned", "turn_cap")
    ended = [e for e in await service.events(user.tenant, sid) if e["type"].endswith("abandoned")]
    assert [e["reason"] for e in ended] == ["turn_cap"]


async def test_the_event_stream_sends_states_until_the_session_ends(
    service: Service, gateway: FakeGateway
) -> None:
    user = User(service)
    view = await user.open()
    sid = view["id"]
    gateway.script(user.tenant, silent)
    r = await user.post(f"/v1/sessions/{sid}/turns", {"content": "hello"})
    assert r.status_code == 202, r.text
    # the test client hands over a stream's body once it ends: read it beside the abandon
    watch = asyncio.create_task(
        service.client.get(f"/v1/sessions/{sid}/events", headers=user.headers())
    )
    abandoned = await user.post(f"/v1/sessions/{sid}/abandon", {})
    assert abandoned.status_code == 200, abandoned.text
    reply = await asyncio.wait_for(watch, 120)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    states = [json.loads(line[5:]) for line in reply.text.splitlines() if line.startswith("data:")]
    assert states
    assert states[-1]["status"] == "abandoned"
    versions = [s["version"] for s in states]
    assert versions == sorted(set(versions))
    assert all(s["status"] in ("thinking", "abandoned") for s in states)
    lines = [line for line in reply.text.splitlines() if line.startswith("event:")]
    assert set(lines) == {"event: state"}


async def test_the_token_cap_abandons_the_session(service: Service, gateway: FakeGateway) -> None:
    user = User(service)
    view = await user.open()
    sid = view["id"]
    await service.owner_sql(
        "UPDATE sessions SET tokens = :n WHERE id = :s",
        n=service.deps.settings.max_tokens - 5,
        s=sid,
    )
    gateway.script(user.tenant, ok({"extractions": []}, tokens=10))
    view = await user.say(sid, "more")
    assert (view["status"], view["reason"]) == ("abandoned", "token_cap")
    assert view["tokens"] >= service.deps.settings.max_tokens


async def test_completion_cites_the_catalogs_matching_tools(
    service: Service, gateway: FakeGateway
) -> None:
    user = User(service)
    await with_objective(user)
    event = envelope(tool_head(tool_spec("pager", description="page the on-call")), user.tenant)
    await publish(service, CATALOG_TOOLS_V1, [event])
    await applied(service, "discovery.catalog-tools", event)
    view = await user.open(
        "notify",
        prefill={
            "goal": {"value": "page the on-call about outages", "confidence": 1.0},
            "channel": {"value": "sms", "confidence": 1.0},
        },
    )
    gateway.script(user.tenant, extractions(extraction("approver", "ops lead")))
    view = await user.say(view["id"], "the ops lead")
    assert view["status"] == "completed"
    cited = [(c["kind"], c["name"]) for c in view["requirements"]["candidates"]]
    assert cited == [("tool", "pager")]
