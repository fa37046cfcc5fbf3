"""Who calls, through the HTTP edge: an API key's token is attributed to its key, owner and
org (traces, usage, events) and held to the key's own budget while the tenant's other keys
go on; system rules forbid (400 no_route, hidden from /v1/models) and pin (that user's
calls go to the pinned model); a user's preference is where an unnamed model goes."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion

from agentsuite_llm_gateway.domain.budgets import prompt_upper_bound
from tests.integration.llm_gateway.e2e_support import duo, llm
from tests.integration.llm_gateway.harness import Gateway, auth, token
from tests.integration.llm_gateway.setup import budget
from tests.integration.llm_gateway.stub import Fail, Reply, Stub

HELLO: Any = [{"role": "user", "content": "hello there"}]
MAX_TOKENS = 100


@pytest.fixture
async def pair(gateway: Gateway) -> AsyncIterator[tuple[uuid.UUID, Stub, Stub]]:
    """A tenant with model-a and model-b on two stubs, and alias `duo` (a, then b)."""
    async with duo(gateway, price_a=("1", "1"), price_b=("1", "1")) as (tenant, first, second, _):
        yield tenant, first, second


def api_key(
    base_url: str, tenant: uuid.UUID, key: uuid.UUID, owner: uuid.UUID, org: uuid.UUID
) -> openai.AsyncOpenAI:
    """The client of an API key, as identity's exchange would sign its token."""
    return llm(base_url, tenant, kind="api_key", subject=key, owner=str(owner), org=str(org))


async def test_an_api_keys_calls_are_attributed_to_the_key_its_owner_and_org(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub]
) -> None:
    tenant, _, _ = pair
    key, owner, org = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    raw = await api_key(
        base_url, tenant, key, owner, org
    ).chat.completions.with_raw_response.create(model="model-a", messages=HELLO)
    request_id = json.loads(raw.text)["agentsuite"]["request_id"]
    await llm(base_url, tenant).chat.completions.create(model="model-a", messages=HELLO)
    await gateway.deps.recorder.flush()

    r = await gateway.client.get(
        "/v1/traces", params={"api_key_id": str(key)}, headers=auth(tenant)
    )
    assert r.status_code == 200, r.text
    [trace] = r.json()["items"]
    assert trace["request_id"] == request_id
    assert (trace["api_key_id"], trace["user_id"], trace["org_id"]) == (
        str(key),
        str(owner),
        str(org),
    )
    r = await gateway.client.get(
        "/v1/usage", params={"group_by": "api_key,user"}, headers=auth(tenant)
    )
    groups = {(g["group"]["api_key"], g["group"]["user"]) for g in r.json()["data"]}
    assert (str(key), str(owner)) in groups
    assert len(groups) == 2  # the key's call, and the plain user's apart from it

    rows = await gateway.owner_sql(
        "SELECT value FROM outbox WHERE tenant_id = :t AND type = 'llm.usage.recorded'",
        t=tenant,
    )
    [event] = [
        e["payload"]
        for e in (json.loads(v) for (v,) in rows)
        if e["payload"]["request_id"] == request_id
    ]
    assert (event["api_key_id"], event["user_id"]) == (str(key), str(owner))


async def test_a_budget_on_one_api_key_stops_that_key_only(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub]
) -> None:
    tenant, first, _ = pair
    owner, org = uuid.uuid4(), uuid.uuid4()
    limited, other = uuid.uuid4(), uuid.uuid4()
    # each call reserves its upper bound and the stub reports exactly that: two fit
    per_call = prompt_upper_bound(HELLO) + MAX_TOKENS
    bid = await budget(
        gateway,
        tenant,
        scope="api_key",
        scope_id=str(limited),
        period="month",
        limit_tokens=2 * per_call,
    )
    usage = {"prompt_tokens": prompt_upper_bound(HELLO), "completion_tokens": MAX_TOKENS}
    first.script(*[Reply("fine", usage=usage)] * 5)
    capped = api_key(base_url, tenant, limited, owner, org)
    free = api_key(base_url, tenant, other, owner, org)
    for _ in range(2):
        await capped.chat.completions.create(model="model-a", messages=HELLO, max_tokens=MAX_TOKENS)
    await gateway.deps.recorder.flush()
    with pytest.raises(openai.APIStatusError) as refused:
        await capped.chat.completions.create(model="model-a", messages=HELLO, max_tokens=MAX_TOKENS)
    assert refused.value.status_code == 402
    assert refused.value.code == "budget_exceeded"
    assert len(first.requests) == 2  # the refused call never went upstream

    # same tenant, same owner, another key: not this budget's subject
    reply = await free.chat.completions.create(
        model="model-a", messages=HELLO, max_tokens=MAX_TOKENS
    )
    assert reply.choices[0].message.content == "fine"
    await gateway.deps.recorder.flush()
    r = await gateway.client.get(f"/v1/budgets/{bid}", headers=auth(tenant))
    assert r.status_code == 200, r.text
    assert (r.json()["spent_tokens"], r.json()["reserved_tokens"]) == (2 * per_call, 0)


async def test_a_forbid_rule_refuses_and_hides_the_model(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub]
) -> None:
    tenant, first, second = pair
    r = await gateway.client.post(
        "/v1/rules",
        json={"effect": "forbid", "model": "model-b", "subject_kind": "tenant", "reason": "t"},
        headers=auth(tenant),
    )
    assert r.status_code == 201, r.text
    client = llm(base_url, tenant)
    with pytest.raises(openai.BadRequestError) as refused:
        await client.chat.completions.create(model="model-b", messages=HELLO)
    assert refused.value.code == "no_route"
    assert "model-b" in refused.value.message
    listed = [m.id async for m in client.models.list()]
    assert "model-a" in listed
    assert "model-b" not in listed
    # nor is it a fallback: model-a failing is the end of the alias
    tries = gateway.settings.retries + 1
    first.script(*[Fail(500)] * tries)
    with pytest.raises(openai.APIStatusError) as failed:
        await client.chat.completions.create(model="duo", messages=HELLO)
    assert failed.value.status_code == 502
    assert second.requests == []


async def test_a_pin_sends_that_users_calls_to_the_pinned_model(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub]
) -> None:
    tenant, first, second = pair
    pinned, other = uuid.uuid4(), uuid.uuid4()
    r = await gateway.client.post(
        "/v1/rules",
        json={
            "effect": "pin",
            "model": "model-b",
            "subject_kind": "user",
            "subject_id": str(pinned),
        },
        headers=auth(tenant),
    )
    assert r.status_code == 201, r.text
    reply = await llm(base_url, tenant, subject=pinned).chat.completions.create(
        model="model-a", messages=HELLO
    )
    assert reply.model == "model-b"
    assert len(second.requests) == 1
    assert first.requests == []
    reply = await llm(base_url, tenant, subject=other).chat.completions.create(
        model="model-a", messages=HELLO
    )
    assert reply.model == "model-a"
    # an API key owned by the pinned user is that user's too
    keyed = api_key(base_url, tenant, uuid.uuid4(), pinned, uuid.uuid4())
    reply = await keyed.chat.completions.create(model="duo", messages=HELLO)
    assert reply.model == "model-b"


async def test_a_users_preference_is_where_an_unnamed_model_goes(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub]
) -> None:
    tenant, _, second = pair
    user, other = uuid.uuid4(), uuid.uuid4()
    # a user sets their own preference with nothing but llm:invoke
    own = {"Authorization": f"Bearer {token(tenant, ['llm:invoke'], subject=user)}"}
    r = await gateway.client.put(
        f"/v1/preferences/users/{user}", json={"default_model": "model-b"}, headers=own
    )
    assert r.status_code == 200, r.text
    r = await gateway.client.put(
        "/v1/preferences/tenant", json={"default_model": "duo"}, headers=auth(tenant)
    )
    assert r.status_code == 200, r.text

    mine = llm(base_url, tenant, subject=user)
    unnamed = await mine.post("/chat/completions", body={"messages": HELLO}, cast_to=ChatCompletion)
    assert unnamed.model == "model-b"
    assert len(second.requests) == 1
    named_default = await mine.chat.completions.create(model="default", messages=HELLO)
    assert named_default.model == "model-b"
    theirs = await llm(base_url, tenant, subject=other).post(
        "/chat/completions", body={"messages": HELLO}, cast_to=ChatCompletion
    )
    assert theirs.model == "model-a"  # the tenant's preference: duo, whose first is model-a
