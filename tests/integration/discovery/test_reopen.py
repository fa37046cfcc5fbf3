"""Reopening a completed session (`POST /v1/sessions/{id}/reopen`): it gathers again, so
new turns can contradict or revise its values (the way a change of a requirement an
approved plan cites reaches planning). Only a completed session of the caller reopens."""

from __future__ import annotations

from tests.integration.discovery.harness import Service
from tests.integration.discovery.llm_support import (
    FakeGateway,
    User,
    extraction,
    extractions,
    obligations,
    with_objective,
)


async def test_a_completed_session_reopens_and_a_turn_contradicts_its_value(
    service: Service, gateway: FakeGateway
) -> None:
    user = User(service)
    await with_objective(user)
    view = await user.open("notify")
    sid = view["id"]
    gateway.script(user.tenant, extractions(extraction("goal", "tell customers")))
    await user.say(sid, "We tell customers")
    done = await user.post(f"/v1/sessions/{sid}/complete", {"force": True})
    assert done.status_code == 200, done.text
    [cited] = [f for f in done.json()["requirements"]["findings"] if f["obligation"] == "goal"]

    r = await user.post(f"/v1/sessions/{sid}/reopen", {"reason": "the audience changed"})
    assert r.status_code == 200, r.text
    reopened = r.json()
    assert (reopened["status"], reopened["requirements"]) == ("gathering", None)
    [event] = [
        e
        for e in await service.events(user.tenant, sid)
        if e["type"] == "discovery.session.reopened"
    ]
    assert (event["user_id"], event["reason"]) == (str(user.subject), "the audience changed")

    gateway.script(
        user.tenant, extractions(extraction("goal", "tell partners", relation="contradicts"))
    )
    view = await user.say(sid, "Actually partners")
    assert view["status"] == "gathering"
    assert obligations(view)["goal"]["status"] == "contested"
    [recorded] = [
        e
        for e in await service.events(user.tenant, sid)
        if e["type"] == "discovery.extraction.recorded" and e["relation"] == "contradicts"
    ]
    # what planning's drift path reads: the contradiction applied, of the cited value
    assert recorded["applied"] is True
    assert recorded["obligation"] == "goal"
    assert recorded["supersedes"] in (None, cited.get("extraction_id"))


async def test_only_a_completed_session_of_the_caller_reopens(service: Service) -> None:
    user = User(service)
    gathering = await user.open()
    r = await user.post(f"/v1/sessions/{gathering['id']}/reopen", {})
    assert (r.status_code, r.json()["code"]) == (409, "session_not_completed")

    abandoned = await user.open()
    await user.post(f"/v1/sessions/{abandoned['id']}/abandon", {})
    r = await user.post(f"/v1/sessions/{abandoned['id']}/reopen", {})
    assert (r.status_code, r.json()["code"]) == (409, "session_not_completed")

    done = await user.open()
    await user.post(f"/v1/sessions/{done['id']}/complete", {"force": True})
    stranger = User(service, tenant=user.tenant)
    r = await stranger.post(f"/v1/sessions/{done['id']}/reopen", {})
    assert r.status_code == 404, r.text
    reader = User(service, tenant=user.tenant, subject=user.subject, capabilities=["sessions:read"])
    r = await reader.post(f"/v1/sessions/{done['id']}/reopen", {})
    assert r.status_code == 403, r.text
    r = await user.post(f"/v1/sessions/{done['id']}/reopen", {"reason": "x" * 2_001})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "reason" in r.text
    assert (await user.session(done["id"]))["status"] == "completed"
