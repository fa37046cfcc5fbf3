"""discovery's routes through the real app: objectives, sessions, and what they refuse."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from agentsuite_contracts.identity import TenantStatus
from agentsuite_kit.tenants import TenantFact
from tests.integration.discovery.harness import Service, auth
from tests.integration.discovery.llm_support import NOTIFY, User, obligations, with_objective


async def test_an_objective_is_defined_versioned_and_listed_beside_the_default(
    service: Service,
) -> None:
    user = User(service)
    made = await with_objective(user)
    assert (made["key"], made["version"]) == ("notify", 1)
    again = await user.post("/v1/objectives", NOTIFY)
    assert (again.status_code, again.json()["code"]) == (409, "objective_exists")
    body = {k: v for k, v in NOTIFY.items() if k != "key"} | {"title": "Notify, v2"}
    stale = user.headers(**{"If-Match": '"7"'})
    r = await service.client.put("/v1/objectives/notify", json=body, headers=stale)
    assert (r.status_code, r.json()["code"]) == (412, "version_mismatch"), r.text
    fresh = user.headers(**{"If-Match": '"1"'})
    r = await service.client.put("/v1/objectives/notify", json=body, headers=fresh)
    assert (r.status_code, r.json()["version"]) == (201, 2), r.text
    newest = await user.get("/v1/objectives/notify")
    assert (newest.json()["version"], newest.headers["etag"]) == (2, '"2"')
    first = await user.get("/v1/objectives/notify/versions/1")
    assert first.json()["title"] == "Notify people"
    listed = await user.get("/v1/objectives?limit=1")
    keys = [listed.json()["items"][0]["key"]]
    nxt = await user.get(f"/v1/objectives?limit=1&cursor={listed.json()['next_cursor']}")
    keys += [o["key"] for o in nxt.json()["items"]]
    assert keys == ["default", "notify"]
    assert nxt.json()["next_cursor"] is None


async def test_a_broken_objective_is_a_422_naming_the_field(service: Service) -> None:
    user = User(service)
    body = {
        "key": "broken",
        "title": "t",
        "obligations": [{"key": "a", "title": "A", "depends_on": ["nope"]}],
    }
    r = await user.post("/v1/objectives", body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "unknown_dependency"
    assert "obligations" in r.json()["field"]
    reserved = await user.post("/v1/objectives", {**NOTIFY, "key": "default"})
    assert reserved.status_code in (409, 422), reserved.text


async def test_a_session_opens_with_its_first_question_and_prefill_recorded(
    service: Service,
) -> None:
    user = User(service)
    await with_objective(user)
    view = await user.open("notify", prefill={"goal": {"value": "tell people", "confidence": 0.9}})
    assert (view["status"], view["objective_version"]) == ("gathering", 1)
    assert obligations(view)["goal"]["status"] == "satisfied"
    # goal is met: channel comes next (lowest confidence, objective order), from its pool
    assert view["question"]["key"] == "channel_q"
    assert view["question"]["source"] == "pool"
    [prefilled] = await user.extractions(view["id"])
    assert (prefilled["turn_id"], prefilled["applied"]) == (None, True)
    events = [e["type"] for e in await service.events(user.tenant, view["id"])]
    assert events[0] == "discovery.session.started"
    assert "discovery.extraction.recorded" in events
    assert events[-1] == "discovery.turn.recorded"


async def test_the_default_objective_opens_a_session(service: Service) -> None:
    view = await User(service).open()
    assert view["objective"] == "default"
    assert view["question"]["obligation"] == "goal"


async def test_a_retry_with_the_same_idempotency_key_opens_one_session(
    service: Service,
) -> None:
    user = User(service)
    key = uuid4().hex
    body = {"objective": "default", "title": "once"}
    first = await user.post("/v1/sessions", body, **{"Idempotency-Key": key})
    again = await user.post("/v1/sessions", body, **{"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("idempotent-replayed") == "true"
    rows = await service.owner_sql(
        "SELECT count(*) FROM sessions WHERE tenant_id = :t", t=user.tenant
    )
    assert rows[0][0] == 1


async def test_an_unknown_objective_is_not_found(service: Service) -> None:
    r = await User(service).post("/v1/sessions", {"objective": "nope", "title": "t"})
    assert (r.status_code, r.json()["code"]) == (404, "objective_not_found")


async def test_another_users_session_is_not_found(service: Service) -> None:
    owner = User(service)
    view = await owner.open()
    other = User(service, tenant=owner.tenant)
    for path in ("", "/turns", "/extractions"):
        r = await other.get(f"/v1/sessions/{view['id']}{path}")
        assert r.status_code == 404, r.text
    r = await other.post(f"/v1/sessions/{view['id']}/turns", {"content": "mine now"})
    assert r.status_code == 404, r.text
    r = await other.post(f"/v1/sessions/{view['id']}/abandon", {})
    assert r.status_code == 404, r.text
    assert (await owner.session(view["id"]))["status"] == "gathering"
    listed = await other.get("/v1/sessions")
    assert listed.json()["items"] == []


async def test_a_suspended_tenant_may_not_open_a_session(service: Service) -> None:
    user = User(service)
    async with service.deps.runtime.uow(user.tenant) as uow:
        await uow.tenants.apply(user.tenant, TenantFact(TenantStatus.SUSPENDED, datetime.now(UTC)))
        await uow.commit()
    r = await user.post("/v1/sessions", {"title": "x"})
    assert (r.status_code, r.json()["code"]) == (409, "tenant_inactive")


async def test_every_route_needs_its_capability(service: Service) -> None:
    tenant = uuid4()
    r = await service.client.post("/v1/sessions", json={"title": "x"}, headers=auth(tenant, []))
    assert r.status_code == 403, r.text
    r = await service.client.get("/v1/objectives", headers=auth(tenant, ["sessions:read"]))
    assert r.status_code == 403, r.text
    r = await service.client.get(f"/v1/sessions/{uuid4()}")
    assert r.status_code == 401, r.text


async def test_a_body_past_the_limit_is_a_413_before_it_is_read(service: Service) -> None:
    big = {"title": "x" * service.deps.settings.max_request_bytes}
    r = await User(service).post("/v1/sessions", big)
    assert (r.status_code, r.json()["code"]) == (413, "body_too_large")


async def test_abandoning_ends_the_session_and_a_second_time_is_a_409(service: Service) -> None:
    user = User(service)
    view = await user.open()
    r = await user.post(f"/v1/sessions/{view['id']}/abandon", {"note": "later"})
    assert (r.status_code, r.json()["status"], r.json()["reason"]) == (
        200,
        "abandoned",
        "abandoned",
    )
    again = await user.post(f"/v1/sessions/{view['id']}/abandon", {})
    assert (again.status_code, again.json()["code"]) == (409, "session_closed")
    [ended] = [
        e
        for e in await service.events(user.tenant, view["id"])
        if e["type"] == "discovery.session.abandoned"
    ]
    assert ended["note"] == "later"


async def test_completing_without_the_gate_is_a_409_listing_gaps_and_force_needs_the_capability(
    service: Service,
) -> None:
    user = User(service)
    view = await user.open()
    r = await user.post(f"/v1/sessions/{view['id']}/complete", {})
    assert (r.status_code, r.json()["code"]) == (409, "gate_not_met")
    assert {g["obligation"] for g in r.json()["gaps"]} >= {"goal"}
    member = User(
        service,
        tenant=user.tenant,
        subject=user.subject,
        capabilities=["sessions:read", "sessions:write"],
    )
    r = await member.post(f"/v1/sessions/{view['id']}/complete", {"force": True})
    assert (r.status_code, r.json()["code"]) == (403, "force_not_allowed")
    assert (await user.session(view["id"]))["status"] == "gathering"
    r = await user.post(f"/v1/sessions/{view['id']}/complete", {"force": True, "reason": "enough"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "completed"
    assert done["requirements"]["forced"] is True
    assert done["requirements"]["forced_reason"] == "enough"
    assert {g["obligation"] for g in done["requirements"]["gaps"]} >= {"goal"}
    [completed] = [
        e
        for e in await service.events(user.tenant, view["id"])
        if e["type"] == "discovery.session.completed"
    ]
    assert completed["requirements"]["forced"] is True
