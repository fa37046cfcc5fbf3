"""A whole discovery session through the real stack: HTTP turns, the request on
`llm.requests.v1`, the REAL llm-gateway answering from its `local` provider's script, the
answer applied. Obligations fill, a contradiction is recorded and then resolved, an
activation rule opens a pool question, and completion puts the requirements on
`discovery.sessions.v1` (read from the broker)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest

from agentsuite_cli.provision import deprovision
from tests.integration.discovery.harness import Service
from tests.integration.discovery.loop_support import (
    CAPS,
    SETTLE,
    extraction,
    gateway_for,
    headers,
    objective,
    obligation,
    open_session,
    pages,
    raw,
    said,
    say,
    session_events,
    settled,
    traces,
    view_of,
)
from tests.integration.llm_gateway import harness as gw_harness
from tests.integration.llm_gateway.harness import Gateway

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
async def gw(
    pg_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Gateway]:
    """The real gateway on the session's broker (module scope: left running, it would take
    other packages' requests for models it does not know)."""
    secrets = tmp_path_factory.mktemp("disc-gw") / "pw.json"
    db = await gw_harness.create_gateway_db(pg_admin_url, secrets)
    try:
        settings = gw_harness.make_settings(db.url(pg_admin_url), kafka_bootstrap)
        async with gw_harness.running(settings, db, pg_admin_url) as started:
            yield started
    finally:
        await deprovision(pg_admin_url, [db])


async def test_a_scripted_session_fills_contests_resolves_opens_and_completes(
    service: Service, gw: Gateway
) -> None:
    tenant, user, tag = uuid4(), uuid4(), uuid4().hex[:8]
    t = [f"[t{i}-{tag}]" for i in range(5)]
    await gateway_for(
        gw,
        tenant,
        [
            said(
                t[1],
                extraction("goal", "tell customers about outages"),
                extraction("channel", "sms"),
            ),
            # a different value, the model not saying it revises: a contradiction
            said(t[2], extraction("channel", "email")),
            said(t[3], extraction("channel", "email", relation="revises")),
            said(t[4], extraction("audience", "the ops-alerts list", kind="decision")),
        ],
    )
    auth = headers(tenant, user)
    client = service.client
    key = f"notify_{tag}"
    await objective(client, auth, key)
    opened = await open_session(client, auth, key)
    sid = str(opened["id"])
    assert opened["status"] == "gathering"
    assert opened["question"]["obligation"] == "goal"

    view = await say(client, auth, sid, f"{t[1]} we warn customers of outages by SMS")
    assert view["status"] == "gathering", view
    assert obligation(view, "goal")["status"] == "satisfied"
    assert (obligation(view, "channel")["status"], obligation(view, "channel")["value"]) == (
        "satisfied",
        "sms",
    )
    # audience is askable now (its dependency met); of its pool, the rule on sms holds
    assert (view["question"]["key"], view["question"]["source"]) == ("sms_numbers", "pool")

    view = await say(client, auth, sid, f"{t[2]} actually, hm, email")
    channel = obligation(view, "channel")
    assert (channel["status"], channel["value"]) == ("contested", "sms"), view
    assert view["question"]["obligation"] == "channel"  # the contested one is asked first

    view = await say(client, auth, sid, f"{t[3]} yes: email, not SMS")
    channel = obligation(view, "channel")
    assert (channel["status"], channel["value"]) == ("satisfied", "email"), view
    # the rule that held on sms no longer does; the one on email opened its question
    assert (view["question"]["key"], view["question"]["source"]) == ("email_list", "pool")

    # a client watching the session's stream sees it to the end, and the stream ends
    watching = asyncio.create_task(client.get(f"/v1/sessions/{sid}/events", headers=auth))
    view = await say(client, auth, sid, f"{t[4]} the ops-alerts list")
    assert view["status"] == "completed", view
    assert view["question"] is None
    streamed = await asyncio.wait_for(watching, SETTLE)  # a hang guard, not a timing
    assert streamed.status_code == 200, streamed.text
    states = [
        json.loads(line[5:]) for line in streamed.text.splitlines() if line.startswith("data:")
    ]
    assert states[-1]["status"] == "completed"
    assert states[-1]["requirements"] is not None

    found = await pages(client, auth, f"/v1/sessions/{sid}/extractions")
    channel_history = [e for e in found if e["obligation"] == "channel"]
    assert [(e["value"], e["relation"], e["applied"]) for e in channel_history] == [
        ("sms", "new", True),
        ("email", "contradicts", True),
        # the contesting value said again: it wins (the values decide the relation)
        ("email", "confirms", True),
    ]
    # history kept: each later extraction names the one it superseded
    first, contradicting, resolving = channel_history
    assert contradicting["supersedes"] == first["id"]
    assert resolving["supersedes"] == contradicting["id"]

    await requirements_on_the_broker(service, sid, key)
    # each turn one call to the gateway, answered and paid once
    rows = await traces(gw, tenant, 4)
    assert [status for status, _ in rows] == ["ok"] * 4
    assert all(cost > 0 for _, cost in rows)


async def requirements_on_the_broker(service: Service, sid: str, key: str) -> None:
    """The session's events: started first, channel contested once, and completed last with
    the requirements of the scripted answers."""
    events = await session_events(service.kafka, sid, "discovery.session.completed")
    assert events[0]["type"] == "discovery.session.started"
    contested = [
        e["payload"]
        for e in events
        if e["type"] == "discovery.obligation.changed" and e["payload"]["status"] == "contested"
    ]
    assert [c["obligation"] for c in contested] == ["channel"]
    requirements = events[-1]["payload"]["requirements"]
    assert (requirements["objective"], requirements["objective_version"]) == (key, 1)
    assert requirements["goal"] == "tell customers about outages"
    assert requirements["gaps"] == []
    assert requirements["forced"] is False
    assert requirements["completeness"] == 1.0
    findings = {f["obligation"]: (f["value"], f["status"]) for f in requirements["findings"]}
    assert findings == {
        "goal": ("tell customers about outages", "satisfied"),
        "channel": ("email", "satisfied"),
        "audience": ("the ops-alerts list", "satisfied"),
    }


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    return body


async def test_bad_extractions_are_recorded_rejected_and_a_bad_answer_fails_its_turn(
    service: Service, gw: Gateway
) -> None:
    tenant, user, tag = uuid4(), uuid4(), uuid4().hex[:8]
    t = [f"[t{i}-{tag}]" for i in range(4)]
    await gateway_for(
        gw,
        tenant,
        [
            said(
                t[1],
                extraction("goal", "send invoices"),
                extraction("budget", "100 USD"),  # no such obligation
                extraction("channel", "pigeon"),  # fails the enum validator
            ),
            raw(t[2], "not json"),
            said(t[3], extraction("channel", "email")),
        ],
    )
    auth = headers(tenant, user)
    client = service.client
    key = f"notify_{tag}"
    await objective(client, auth, key)
    sid = str((await open_session(client, auth, key))["id"])

    view = await say(client, auth, sid, f"{t[1]} invoices, by pigeon, 100 USD")
    assert view["status"] == "gathering", view
    assert obligation(view, "goal")["status"] == "satisfied"
    assert obligation(view, "channel")["status"] == "pending"
    found = await pages(client, auth, f"/v1/sessions/{sid}/extractions")
    rejected = {e["obligation"]: e["reason"] for e in found if not e["applied"]}
    assert rejected.keys() == {"budget", "channel"}, found
    assert rejected["budget"] == "unknown_obligation"
    assert rejected["channel"].startswith("invalid_value"), rejected
    asked = view["question"]

    # an answer that is not JSON: the turn fails with the reason, the question stays
    view = await say(client, auth, sid, f"{t[2]} email then")
    assert view["status"] == "gathering", view
    assert view["question"] == asked
    assert obligation(view, "channel")["status"] == "pending"
    assert len(await pages(client, auth, f"/v1/sessions/{sid}/extractions")) == len(found)

    # not stuck: the next turn is processed
    view = await say(client, auth, sid, f"{t[3]} email")
    assert obligation(view, "channel")["status"] == "satisfied", view


async def test_bad_turns_are_refused_at_the_edge_and_a_closed_session_takes_none(
    service: Service, gw: Gateway
) -> None:
    tenant, user, tag = uuid4(), uuid4(), uuid4().hex[:8]
    await gateway_for(gw, tenant, [said(f"[t1-{tag}]", extraction("goal", "send invoices"))])
    auth = headers(tenant, user)
    client = service.client
    key = f"notify_{tag}"
    await objective(client, auth, key)
    sid = str((await open_session(client, auth, key))["id"])
    turns = f"/v1/sessions/{sid}/turns"

    too_long = "x" * (service.deps.settings.max_turn_chars + 1)
    for content in (too_long, "", "nul \x00 byte", "lone \ud800 surrogate"):
        body = json.dumps({"content": content}).encode()
        sent = {**auth, "content-type": "application/json"}
        r = await client.post(turns, content=body, headers=sent)
        assert 400 <= r.status_code < 500, (content[:20], r.status_code, r.text)
        assert "content" in str(problem(r, r.status_code)), r.text  # names the field
    problem(await client.post(turns, json={}, headers=auth), 422)
    unknown = f"/v1/sessions/{uuid4()}/turns"
    problem(await client.post(unknown, json={"content": "hi"}, headers=auth), 404)
    # another user of the tenant may not speak in it
    r = await client.post(turns, json={"content": "hi"}, headers=headers(tenant, uuid4()))
    assert r.status_code in (403, 404), r.text
    assert (await view_of(client, auth, sid))["status"] == "gathering"

    # at the limit exactly: taken, and through the gateway like any other
    at_limit = f"[t1-{tag}] invoices ".ljust(service.deps.settings.max_turn_chars, "x")
    view = await say(client, auth, sid, at_limit)
    assert obligation(view, "goal")["status"] == "satisfied", view
    # the gate: not met without force; forced, the gaps listed; closed afterwards
    url = f"/v1/sessions/{sid}/complete"
    r = await client.post(url, json={"force": False}, headers=auth)
    assert "gate_not_met" in str(problem(r, 409)), r.text
    member = headers(tenant, user, [c for c in CAPS if c != "discovery:force_complete"])
    problem(await client.post(url, json={"force": True, "reason": "enough"}, headers=member), 403)
    r = await client.post(url, json={"force": True, "reason": "enough"}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed"
    r = await client.post(turns, json={"content": "one more"}, headers=auth)
    assert "session_closed" in str(problem(r, 409)), r.text
    events = await session_events(service.kafka, sid, "discovery.session.completed")
    requirements = events[-1]["payload"]["requirements"]
    assert requirements["forced"] is True
    assert requirements["forced_reason"] == "enough"
    assert [g["obligation"] for g in requirements["gaps"]] == ["channel", "audience"]


async def test_hostile_model_answers_fail_their_turn_only(service: Service, gw: Gateway) -> None:
    """What a model may send back, through the real gateway: text PostgreSQL cannot hold
    (escaped in the JSON, so only discovery's parse sees it), too many extractions, not an
    object. Each fails its own turn, or has its extractions recorded rejected, with the
    reason; the session waits for the user again. A confidence out of range is one
    rejected extraction; a fenced answer is read."""
    tenant, user, tag = uuid4(), uuid4(), uuid4().hex[:8]
    too_many = [extraction("goal", f"g{i}") for i in range(101)]
    hostile: list[tuple[str, str]] = [
        # json.dumps escapes them: the gateway stores and relays plain ASCII text
        ("nul", json.dumps({"extractions": [extraction("goal", "a\x00b")]})),
        ("surrogate", json.dumps({"extractions": [extraction("goal", "a\ud800b")]})),
        ("many", json.dumps({"extractions": too_many})),
        ("list", json.dumps([extraction("goal", "x")])),
    ]
    script = [raw(f"[{name}-{tag}]", text) for name, text in hostile]
    # one bad item in a readable answer: that extraction is recorded rejected
    out_of_range = extraction("goal", "x", confidence=1.5)
    script.append(said(f"[confidence-{tag}]", out_of_range))
    fenced = json.dumps({"extractions": [extraction("goal", "send invoices")]})
    script.append(raw(f"[fenced-{tag}]", f"```json\n{fenced}\n```"))
    await gateway_for(gw, tenant, script)
    auth = headers(tenant, user)
    client = service.client
    key = f"notify_{tag}"
    await objective(client, auth, key)
    sid = str((await open_session(client, auth, key))["id"])
    asked = (await view_of(client, auth, sid))["question"]
    for name, _ in hostile:
        view = await say(client, auth, sid, f"[{name}-{tag}] hello")
        assert view["status"] == "gathering", (name, view)
        assert view["question"] == asked, (name, view)
        assert obligation(view, "goal")["status"] == "pending", (name, view)
        [turn] = [
            t for t in await pages(client, auth, f"/v1/sessions/{sid}/turns")
            if t["content"].startswith(f"[{name}-")
        ]  # fmt: skip
        # the whole answer refused (the turn failed), or each of its extractions
        found = [
            e for e in await pages(client, auth, f"/v1/sessions/{sid}/extractions")
            if e["turn_id"] == turn["id"]
        ]  # fmt: skip
        if turn["status"] == "failed":
            assert turn["reason"].startswith("invalid_answer"), (name, turn)
            assert found == [], (name, found)
        else:
            assert turn["status"] == "answered", (name, turn)
            assert found, (name, turn)
            assert all(not e["applied"] and e["reason"] for e in found), (name, found)
    view = await say(client, auth, sid, f"[confidence-{tag}] hello")
    assert obligation(view, "goal")["status"] == "pending", view
    found = await pages(client, auth, f"/v1/sessions/{sid}/extractions")
    rejected = found[-1]
    assert rejected["applied"] is False
    assert "confidence" in rejected["reason"], rejected
    view = await say(client, auth, sid, f"[fenced-{tag}] invoices")
    assert obligation(view, "goal")["value"] == "send invoices", view


async def test_a_turn_sent_twice_with_its_idempotency_key_is_paid_once(
    service: Service, gw: Gateway
) -> None:
    """A client retrying its POST (the answer lost on the way back) with the same
    Idempotency-Key gets the same turn; the gateway is asked, and paid, once."""
    tenant, user, tag = uuid4(), uuid4(), uuid4().hex[:8]
    await gateway_for(gw, tenant, [said(f"[t1-{tag}]", extraction("goal", "send invoices"))])
    auth = headers(tenant, user)
    client = service.client
    key = f"notify_{tag}"
    await objective(client, auth, key)
    sid = str((await open_session(client, auth, key))["id"])
    sent = {**auth, "Idempotency-Key": f"turn-{tag}"}
    body = {"content": f"[t1-{tag}] invoices"}
    first = await client.post(f"/v1/sessions/{sid}/turns", json=body, headers=sent)
    assert first.status_code == 202, first.text
    again = await client.post(f"/v1/sessions/{sid}/turns", json=body, headers=sent)
    assert again.status_code == 202, again.text
    assert again.json()["turn_id"] == first.json()["turn_id"]
    view = await settled(client, auth, sid)
    assert obligation(view, "goal")["status"] == "satisfied", view
    again = await client.post(f"/v1/sessions/{sid}/turns", json=body, headers=sent)
    assert again.json()["turn_id"] == first.json()["turn_id"], again.text
    user_turns = [
        t for t in await pages(client, auth, f"/v1/sessions/{sid}/turns") if t["role"] == "user"
    ]
    assert len(user_turns) == 1, user_turns
    assert [status for status, _ in await traces(gw, tenant, 1)] == ["ok"]
