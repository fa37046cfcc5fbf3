"""`/v1/usage` and `/v1/traces` through the real app: sums, groups, filters, paging, RLS."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.costs import Tokens
from agentsuite_llm_gateway.domain.traces import Trace
from agentsuite_llm_gateway.recorder import Recorder
from tests.integration.llm_gateway.harness import Gateway, auth
from tests.integration.llm_gateway.test_recorder import make_trace, past_partitions

DAY1 = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=2)
DAY2 = DAY1 + timedelta(days=1)
KEY = uuid.uuid4()
USER = uuid.uuid4()
PROMPT = uuid.uuid4()


async def _record(gateway: Gateway, traces: list[Trace]) -> None:
    await past_partitions(gateway)
    recorder = Recorder(gateway.settings, gateway.deps.uow)
    for t in traces:
        recorder.record(t)
    await recorder.flush()


def _fixture(tenant: UUID) -> list[Trace]:
    def t(at: datetime, model: str, cost: int, **kw: Any) -> Trace:
        return make_trace(tenant, at=at, model=model, cost_micros=cost, **kw)

    return [
        t(DAY1, "m1", 1_000_000, latency_ms=10, tokens=Tokens(100, 10, 40, 2)),
        t(DAY1 + timedelta(minutes=1), "m1", 500_000, latency_ms=30, tokens=Tokens(50, 5)),
        t(DAY1, "m2", 250, caller=Caller(tenant, api_key_id=KEY), provider="p2"),
        t(DAY2, "m1", 7, caller=Caller(tenant, user_id=USER, run_id="run-9")),
        t(
            DAY2,
            "m2",
            3,
            status="error",
            error_code="timeout",
            prompt_id=PROMPT,
            prompt_version=2,
        ),
    ]


async def _usage(gateway: Gateway, tenant: UUID, **params: str) -> dict[str, Any]:
    start = (DAY1 - timedelta(days=1)).isoformat()
    query = {"from": start, **params}
    got = await gateway.client.get("/v1/usage", params=query, headers=auth(tenant))
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


async def test_usage_groups_and_filters(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    await _record(gateway, _fixture(tenant))

    body = await _usage(gateway, tenant)
    assert body["data"] == []
    totals = body["totals"]
    assert totals["requests"] == 5
    assert totals["cost_micros"] == 1_500_260
    assert totals["cost"] == "1.500260"
    assert totals["prompt_tokens"] == 100 + 50 + 10 + 10 + 10
    assert totals["cached_tokens"] == 40
    assert totals["reasoning_tokens"] == 2

    by_model_day = await _usage(gateway, tenant, group_by="model,day")
    groups = {(d["group"]["model"], d["group"]["day"]): d for d in by_model_day["data"]}
    d1, d2 = DAY1.date().isoformat(), DAY2.date().isoformat()
    assert set(groups) == {("m1", d1), ("m2", d1), ("m1", d2), ("m2", d2)}
    m1d1 = groups[("m1", d1)]
    assert (m1d1["requests"], m1d1["cost_micros"], m1d1["avg_latency_ms"]) == (2, 1_500_000, 20.0)
    assert by_model_day["totals"] == totals

    by_key = await _usage(gateway, tenant, group_by="api_key")
    assert {d["group"]["api_key"]: d["requests"] for d in by_key["data"]} == {str(KEY): 1, None: 4}
    by_prompt = await _usage(gateway, tenant, group_by="prompt,status")
    assert {(d["group"]["prompt"], d["group"]["status"]) for d in by_prompt["data"]} == {
        (None, "ok"),
        (f"{PROMPT}:2", "error"),
    }
    by_month = await _usage(gateway, tenant, group_by="month,provider")
    assert sum(d["requests"] for d in by_month["data"]) == 5

    filtered = await _usage(gateway, tenant, model="m1", user_id=str(USER))
    assert (filtered["totals"]["requests"], filtered["totals"]["cost_micros"]) == (1, 7)
    assert (await _usage(gateway, tenant, prompt=str(PROMPT)))["totals"]["requests"] == 1
    assert (await _usage(gateway, tenant, prompt=f"{PROMPT}:1"))["totals"]["requests"] == 0
    assert (await _usage(gateway, tenant, status="error"))["totals"]["requests"] == 1
    assert (await _usage(gateway, tenant, provider="p2"))["totals"]["cost_micros"] == 250
    # `to` is exclusive and whole days count from `from`'s midnight
    only_day1 = await _usage(gateway, tenant, to=DAY2.replace(hour=0).isoformat())
    assert only_day1["totals"]["requests"] == 3


async def test_usage_refuses_bad_queries_naming_the_field(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    h = auth(tenant)
    cases = [
        ({"group_by": "model,colour"}, "group_by"),
        ({"from": "2026-01-10T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
        ({"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
        ({"status": "meh"}, "status"),
        ({"api_key_id": "nope"}, "api_key_id"),
        ({"from": "yesterday"}, "from"),
    ]
    for params, field in cases:
        got = await gateway.client.get("/v1/usage", params=params, headers=h)
        assert got.status_code == 422, (params, got.text)
        assert got.headers["content-type"].startswith("application/problem+json")
        assert field in [e["loc"][-1] for e in got.json()["errors"]], got.json()


async def test_usage_needs_usage_read(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    got = await gateway.client.get("/v1/usage", headers=auth(tenant, ["llm:invoke"]))
    assert got.status_code == 403
    got = await gateway.client.get("/v1/traces", headers=auth(tenant, ["models:read"]))
    assert got.status_code == 403


async def test_traces_filters_and_cursor_paging(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    base = datetime.now(UTC) - timedelta(hours=5)
    traces = [
        make_trace(
            tenant,
            at=base + timedelta(seconds=i // 2),  # pairs share a timestamp: the id breaks ties
            model="m1" if i % 3 else "m2",
            caller=Caller(tenant, run_id="r1" if i < 7 else "r2", api_key_id=KEY),
        )
        for i in range(25)
    ]
    await _record(gateway, traces)
    h = auth(tenant)

    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        got = await gateway.client.get("/v1/traces", params=params, headers=h)
        assert got.status_code == 200, got.text
        page = got.json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    newest_first = sorted(traces, key=lambda t: (t.at, t.call_id), reverse=True)
    assert [s["call_id"] for s in seen] == [str(t.call_id) for t in newest_first]
    first = seen[0]
    assert first["cost"] == "0.000100"
    assert first["total_tokens"] == 15
    assert first["api_key_id"] == str(KEY)

    async def ids(**params: Any) -> set[str]:
        got = await gateway.client.get("/v1/traces", params={"limit": 200, **params}, headers=h)
        assert got.status_code == 200, got.text
        return {i["call_id"] for i in got.json()["items"]}

    assert await ids(model="m2") == {str(t.call_id) for t in traces if t.model == "m2"}
    assert await ids(run_id="r1") == {str(t.call_id) for t in traces[:7]}
    assert await ids(request_id=str(traces[3].request_id)) == {str(traces[3].call_id)}
    assert await ids(status="error") == set()
    assert await ids(api_key_id=str(KEY)) == {str(t.call_id) for t in traces}
    window = {
        "from": (base + timedelta(seconds=5)).isoformat(),
        "to": (base + timedelta(seconds=7)).isoformat(),
    }
    assert await ids(**window) == {str(t.call_id) for t in traces[10:14]}

    one = await gateway.client.get(f"/v1/traces/{traces[3].call_id}", headers=h)
    assert one.status_code == 200, one.text
    assert one.json()["request_id"] == str(traces[3].request_id)
    assert one.json()["run_id"] == "r1"

    bad = await gateway.client.get("/v1/traces", params={"cursor": "garbage"}, headers=h)
    assert bad.status_code == 400
    big = await gateway.client.get("/v1/traces", params={"limit": 10_000}, headers=h)
    assert big.status_code == 422


async def test_a_trace_whose_id_is_not_time_ordered_is_found(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    t = make_trace(tenant, call_id=uuid.uuid4(), at=datetime.now(UTC) - timedelta(days=20))
    await _record(gateway, [t])
    got = await gateway.client.get(f"/v1/traces/{t.call_id}", headers=auth(tenant))
    assert got.status_code == 200, got.text


async def test_another_tenant_sees_none_of_it(gateway: Gateway) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    traces = _fixture(a)
    await _record(gateway, traces)
    hb = auth(b)
    usage = await _usage(gateway, b, group_by="model")
    assert usage["data"] == []
    assert usage["totals"]["requests"] == 0
    listed = await gateway.client.get("/v1/traces", headers=hb)
    assert listed.json()["items"] == []
    for t in traces:
        got = await gateway.client.get(f"/v1/traces/{t.call_id}", headers=hb)
        assert got.status_code == 404
        assert (
            await gateway.client.get(f"/v1/traces/{t.call_id}", headers=auth(a))
        ).status_code == 200


async def test_hostile_queries_are_4xx_never_500(gateway: Gateway) -> None:
    from agentsuite_kit.http.pagination import encode_cursor

    h = auth(uuid.uuid4())
    far = UUID("ffffffff-ffff-7fff-bfff-ffffffffffff")  # a UUIDv7 from the year 10889
    naive = encode_cursor([datetime(2026, 1, 1), uuid.uuid4()])  # naive: forged
    cases = [
        ("/v1/usage", {"model": "a\x00b"}, 422),
        ("/v1/usage", {"group_by": "model\x00"}, 422),
        ("/v1/traces", {"run_id": "\x00"}, 422),
        ("/v1/usage", {"from": "0001-01-01T00:00:00+14:00"}, 422),
        ("/v1/usage", {"to": "0001-01-02T00:00:00Z"}, 422),
        ("/v1/traces", {"from": "9999-12-31T00:00:00Z", "to": "9999-12-31T23:59:59Z"}, 200),
        ("/v1/traces", {"cursor": naive}, 400),
        ("/v1/traces", {"cursor": encode_cursor(["x"])}, 400),
        (f"/v1/traces/{far}", {}, 404),
        ("/v1/traces/not-a-uuid", {}, 422),
    ]
    for path, params, status in cases:
        got = await gateway.client.get(path, params=params, headers=h)
        assert got.status_code == status, (path, params, got.text)


async def test_an_org_scoped_token_reads_its_own_orgs_traces_only(gateway: Gateway) -> None:
    """Issue 21: a token scoped to an org (claim `org`) reaches that org's traces only;
    another org's, and the tenant's own calls, are not found to it."""
    tenant, mine, theirs = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    base = datetime.now(UTC) - timedelta(hours=1)
    traces = [
        make_trace(tenant, at=base, model="m1", caller=Caller(tenant, org_id=mine)),
        make_trace(tenant, at=base, model="m1", caller=Caller(tenant, org_id=theirs)),
        make_trace(tenant, at=base, model="m1", caller=Caller(tenant)),
    ]
    await _record(gateway, traces)
    scoped = auth(tenant, ["usage:read"], org=str(mine))
    got = await gateway.client.get("/v1/traces", headers=scoped)
    assert got.status_code == 200, got.text
    assert [item["org_id"] for item in got.json()["items"]] == [str(mine)]
    for trace in traces[1:]:
        one = await gateway.client.get(f"/v1/traces/{trace.call_id}", headers=scoped)
        assert one.status_code == 404, one.text
    whole = await gateway.client.get("/v1/traces", headers=auth(tenant, ["usage:read"]))
    assert len(whole.json()["items"]) == 3
