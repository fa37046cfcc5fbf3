"""Triggers through the real app: rotation with grace on an injected clock, every refusal a
problem+json 4xx, plan state read at delivery, the API kind, and tenant isolation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_cli.provision import ServiceDb, deprovision
from tests.integration.planning.harness import Service, auth, create_db, make_settings, running
from tests.integration.planning.triggers_support import (
    SEALING,
    Plans,
    body_of,
    library_headers,
    spec_headers,
)


@pytest.fixture(scope="module")
async def plans() -> Plans:
    return Plans()


@pytest.fixture(scope="module")
async def svc(
    pg_admin_url: str,
    kafka_bootstrap: str,
    plans: Plans,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Service]:
    db: ServiceDb = await create_db(pg_admin_url, tmp_path_factory.mktemp("trig") / "pw.json")
    settings = make_settings(db.url(pg_admin_url), kafka_bootstrap, **SEALING)
    try:
        async with running(settings, db, pg_admin_url) as started:
            started.deps.plan_targets = plans
            yield started
    finally:
        await deprovision(pg_admin_url, [db])


async def publish(svc: Service, tenant: UUID, **spec: Any) -> dict[str, Any]:
    body = {"kind": "webhook", **spec}
    body["plan_id"] = str(body["plan_id"])
    made = await svc.client.post("/v1/triggers", json=body, headers=auth(tenant))
    assert made.status_code == 201, made.text
    return dict(made.json())


async def hook(
    svc: Service,
    trigger: dict[str, Any],
    secret: str,
    inputs: Any,
    msg_id: str | None = None,
    **kw: Any,
) -> Any:
    body = body_of(inputs)
    headers = library_headers(secret, msg_id or f"msg_{uuid4().hex}", body, **kw)
    return await svc.client.post(trigger["url"], content=body, headers=headers)


def problem(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    assert r.json()["code"] == code, r.json()


async def test_the_old_secret_is_accepted_until_its_grace_ends(svc: Service, plans: Plans) -> None:
    tenant, plan = uuid4(), uuid4()
    plans.put(tenant, plan, approved={1})
    t = await publish(svc, tenant, plan_id=plan, plan_version=1)
    old = t["secret"]
    now = datetime.now(UTC)
    svc.deps.clock = lambda: now
    try:
        rotated = await svc.client.post(f"/v1/triggers/{t['id']}/rotate", headers=auth(tenant))
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert new != old
        assert new.startswith("whsec_")
        grace = timedelta(seconds=svc.settings.trigger_secret_grace)
        assert rotated.json()["previous_secret_until"] is not None
        assert (await hook(svc, t, old, {"a": 1})).status_code == 202
        assert (await hook(svc, t, new, {"a": 2})).status_code == 202
        # the grace ends: the old secret is refused, the new one still works
        svc.deps.clock = lambda: now + grace + timedelta(seconds=1)
        problem(await hook(svc, t, old, {"a": 3}), 401, "invalid_signature")
        assert (await hook(svc, t, new, {"a": 4})).status_code == 202
    finally:
        svc.deps.clock = lambda: datetime.now(UTC)
    # the secret is shown on create and rotate only, and is sealed at rest
    read = await svc.client.get(f"/v1/triggers/{t['id']}", headers=auth(tenant))
    assert read.json()["secret"] is None
    rows = await svc.owner_sql(
        "SELECT secret, previous_secret FROM triggers WHERE id = :i", i=UUID(t["id"])
    )
    assert new.encode() not in bytes(rows[0][0])
    assert old.encode() not in bytes(rows[0][1])
    events = await svc.owner_sql(
        "SELECT value FROM outbox WHERE type LIKE 'planning.trigger.%' AND tenant_id = :t", t=tenant
    )
    assert events
    assert not [v for (v,) in events if old.encode() in v or new.encode() in v]


async def test_every_refusal_is_a_problem_4xx(svc: Service, plans: Plans) -> None:
    tenant, plan = uuid4(), uuid4()
    plans.put(tenant, plan, approved={1})
    t = await publish(svc, tenant, plan_id=plan, plan_version=1)
    secret = t["secret"]
    body = body_of({"x": 1})
    # unknown trigger
    r = await svc.client.post(
        f"/v1/hooks/{uuid4()}", content=body, headers=library_headers(secret, "m1", body)
    )
    problem(r, 404, "trigger_not_found")
    # a signature with another secret, a tampered body, a malformed signature header
    other = (await publish(svc, tenant, plan_id=plan, plan_version=1))["secret"]
    problem(await hook(svc, t, other, {"x": 1}), 401, "invalid_signature")
    h = library_headers(secret, "m2", body)
    problem(
        await svc.client.post(t["url"], content=body_of({"x": 2}), headers=h),
        401,
        "invalid_signature",
    )
    for bad in ("v1", "v1,%%%", "v1,a,b", ""):
        h = library_headers(secret, "m3", body) | {"webhook-signature": bad}
        r = await svc.client.post(t["url"], content=body, headers=h)
        assert r.status_code in (400, 401), (bad, r.text)
    # old and future timestamps, a timestamp that is no number
    ago = datetime.now(UTC) - timedelta(minutes=6)
    problem(await hook(svc, t, secret, {"x": 1}, at=ago), 401, "invalid_signature")
    ahead = datetime.now(UTC) + timedelta(minutes=6)
    problem(await hook(svc, t, secret, {"x": 1}, at=ahead), 401, "invalid_signature")
    h = library_headers(secret, "m4", body) | {"webhook-timestamp": "nan"}
    problem(await svc.client.post(t["url"], content=body, headers=h), 401, "invalid_signature")
    # missing headers; a delivery id that cannot be a key
    problem(await svc.client.post(t["url"], content=body), 400, "missing_webhook_headers")
    h = library_headers(secret, "m 5", body)
    problem(await svc.client.post(t["url"], content=body, headers=h), 422, "invalid_delivery_id")
    # bodies: not an object, not JSON, NUL, a lone surrogate, too large
    problem(await hook(svc, t, secret, [1, 2]), 422, "not_an_object")
    raw = b"{not json"
    h = spec_headers(secret, "m6", raw)
    problem(await svc.client.post(t["url"], content=raw, headers=h), 422, "invalid_json")
    for raw in (b'{"a": "x\\u0000"}', b'{"a": "\\ud800"}'):
        h = spec_headers(secret, f"m7{len(raw)}", raw)
        problem(await svc.client.post(t["url"], content=raw, headers=h), 422, "invalid_text")
    raw = b'{"a": "' + b"x" * svc.settings.trigger_max_body_bytes + b'"}'
    h = spec_headers(secret, "m8", raw)
    problem(await svc.client.post(t["url"], content=raw, headers=h), 413, "body_too_large")
    # disabled, then deleted
    p = await svc.client.patch(
        f"/v1/triggers/{t['id']}", json={"enabled": False}, headers=auth(tenant)
    )
    assert p.status_code == 200, p.text
    problem(await hook(svc, t, secret, {"x": 1}), 409, "trigger_disabled")
    d = await svc.client.delete(
        f"/v1/triggers/{t['id']}", headers=auth(tenant) | {"If-Match": p.headers["etag"]}
    )
    assert d.status_code == 204, d.text
    problem(await hook(svc, t, secret, {"x": 1}), 404, "trigger_not_found")
    rows = await svc.owner_sql("SELECT count(*) FROM deliveries WHERE tenant_id = :t", t=tenant)
    assert rows[0][0] == 0  # nothing unauthenticated or malformed was recorded


async def test_plan_state_is_read_at_delivery_and_refusals_are_recorded(
    svc: Service, plans: Plans
) -> None:
    tenant, plan = uuid4(), uuid4()
    plans.put(tenant, plan, approved={1, 2}, labels={"production": 1})
    t = await publish(svc, tenant, plan_id=plan, label="production")
    secret = t["secret"]
    first = await hook(svc, t, secret, {"n": 1})
    assert (first.status_code, first.json()["plan_version"]) == (202, 1)
    plans.put(tenant, plan, approved={1, 2}, labels={"production": 2})  # a label move
    moved = await hook(svc, t, secret, {"n": 2})
    assert (moved.status_code, moved.json()["plan_version"]) == (202, 2)
    plans.put(tenant, plan, approved={1, 2}, labels={"production": 2}, stale=True)
    problem(await hook(svc, t, secret, {"n": 3}, msg_id="retry-me"), 409, "plan_stale")
    plans.put(tenant, plan, approved={1, 2}, labels={"production": 2}, archived=True)
    problem(await hook(svc, t, secret, {"n": 4}), 409, "plan_archived")
    plans.put(tenant, plan, approved={1}, labels={})
    problem(await hook(svc, t, secret, {"n": 5}), 409, "label_unset")
    pinned = await publish(svc, tenant, plan_id=plan, plan_version=3)
    problem(await hook(svc, pinned, pinned["secret"], {"n": 6}), 409, "version_not_approved")
    refused = await svc.owner_sql(
        "SELECT reason FROM deliveries WHERE tenant_id = :t AND state = 'refused' ORDER BY at",
        t=tenant,
    )
    assert [r for (r,) in refused] == [
        "plan_stale",
        "plan_archived",
        "label_unset",
        "version_not_approved",
    ]
    # the sender retries the refused delivery once the plan is approved again: it runs
    plans.put(tenant, plan, approved={1, 2}, labels={"production": 2})
    again = await hook(svc, t, secret, {"n": 3}, msg_id="retry-me")
    assert again.status_code == 202, again.text
    dup = await hook(svc, t, secret, {"n": 3}, msg_id="retry-me")
    assert (dup.status_code, dup.json()["status"]) == (200, "duplicate")


async def test_an_api_trigger_runs_once_per_idempotency_key(svc: Service, plans: Plans) -> None:
    tenant, plan = uuid4(), uuid4()
    plans.put(tenant, plan, approved={4})
    t = await publish(svc, tenant, plan_id=plan, plan_version=4, kind="api")
    assert t["secret"] is None
    assert t["url"] == f"/v1/triggers/{t['id']}/runs"
    key = {"Idempotency-Key": uuid4().hex}
    runs = t["url"]
    first = await svc.client.post(runs, json={"q": 1}, headers=auth(tenant) | key)
    again = await svc.client.post(runs, json={"q": 1}, headers=auth(tenant) | key)
    assert (first.status_code, again.status_code) == (202, 200), (first.text, again.text)
    fresh = await svc.client.post(runs, json={"q": 1}, headers=auth(tenant))
    assert fresh.status_code == 202
    assert fresh.json()["delivery_id"] != first.json()["delivery_id"]
    problem(await svc.client.post(runs, json=[1], headers=auth(tenant)), 422, "not_an_object")
    r = await svc.client.post(runs, json={"q": 1}, headers=auth(tenant, ["plans:read"]))
    assert r.status_code == 403, r.text
    # an API trigger has no webhook and no secret
    problem(
        await svc.client.post(
            f"/v1/hooks/{t['id']}",
            content=b"{}",
            headers=library_headers("whsec_" + "A" * 44, "m", b"{}"),
        ),
        404,
        "trigger_not_found",
    )
    problem(
        await svc.client.post(f"/v1/triggers/{t['id']}/rotate", headers=auth(tenant)),
        409,
        "not_a_webhook",
    )
    fired = await svc.owner_sql(
        "SELECT count(*) FROM deliveries WHERE trigger_id = :i AND state = 'accepted'",
        i=UUID(t["id"]),
    )
    assert fired[0][0] == 2


async def test_another_tenant_cannot_see_change_rotate_or_run_a_trigger(
    svc: Service, plans: Plans
) -> None:
    a, b, plan = uuid4(), uuid4(), uuid4()
    plans.put(a, plan, approved={1})
    t = await publish(svc, a, plan_id=plan, plan_version=1)
    api = await publish(svc, a, plan_id=plan, plan_version=1, kind="api")
    url = f"/v1/triggers/{t['id']}"
    for method, path, body in (
        ("GET", url, None),
        ("PATCH", url, {"enabled": False}),
        ("DELETE", url, None),
        ("POST", f"{url}/rotate", None),
        ("POST", f"/v1/triggers/{api['id']}/runs", {"x": 1}),
    ):
        r = await svc.client.request(method, path, json=body, headers=auth(b))
        assert r.status_code == 404, (method, path, r.text)
    listed = await svc.client.get("/v1/triggers", headers=auth(b))
    assert listed.status_code == 200
    assert listed.json()["items"] == []
    mine = await svc.client.get(url, headers=auth(a))
    assert (mine.status_code, mine.json()["enabled"], mine.json()["version"]) == (200, True, 1)
    assert (await hook(svc, t, t["secret"], {"still": "works"})).status_code == 202


async def test_a_write_needs_triggers_write_and_if_match_guards_it(
    svc: Service, plans: Plans
) -> None:
    tenant, plan = uuid4(), uuid4()
    body = {"plan_id": str(plan), "plan_version": 1, "kind": "webhook"}
    r = await svc.client.post("/v1/triggers", json=body, headers=auth(tenant, ["plans:read"]))
    assert r.status_code == 403, r.text
    both = body | {"label": "production"}
    problem(
        await svc.client.post("/v1/triggers", json=both, headers=auth(tenant)),
        422,
        "target_ambiguous",
    )
    t = await publish(svc, tenant, plan_id=plan, plan_version=1)
    stale = {"If-Match": '"7"'}
    problem(
        await svc.client.patch(
            f"/v1/triggers/{t['id']}", json={"label": "staging"}, headers=auth(tenant) | stale
        ),
        412,
        "revision_mismatch",
    )
    ok = await svc.client.patch(
        f"/v1/triggers/{t['id']}",
        json={"label": "staging"},
        headers=auth(tenant) | {"If-Match": '"1"'},
    )
    assert (
        ok.status_code,
        ok.json()["label"],
        ok.json()["plan_version"],
        ok.json()["version"],
    ) == (200, "staging", None, 2)
