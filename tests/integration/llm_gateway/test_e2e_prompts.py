"""Stored prompts named in requests, end to end: the openai client sends `prompt` (its
`extra_body`) and no messages; the upstream receives the rendered messages of the version
the label points at (or the exact version asked for), with that version's model and
params; moving the label switches the next call; a missing variable is the client's
BadRequestError naming it; usage per version and the traces name the version served."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion

from tests.integration.llm_gateway.e2e_support import llm
from tests.integration.llm_gateway.harness import Gateway, auth
from tests.integration.llm_gateway.setup import model, provider
from tests.integration.llm_gateway.stub import Stub, stub_upstream

V1: Any = [
    {"role": "system", "content": "You are a travel agent."},
    {"role": "user", "content": "Suggest a trip to {{ city }}."},
]
V2: Any = [
    {"role": "system", "content": "You are a terse travel agent."},
    {"role": "user", "content": "One sentence on {{ city }} in {{ season }}."},
]


@pytest.fixture
async def setup(gateway: Gateway) -> AsyncIterator[tuple[uuid.UUID, Stub, str]]:
    """A tenant with a stub model and prompt `trip`: v1 (labelled production), v2."""
    tenant = uuid.uuid4()
    async with stub_upstream() as stub:
        pid = await provider(gateway, tenant, "stub", stub.url)
        await model(gateway, tenant, pid, "writer", upstream="gpt-writer")
        r = await gateway.client.post(
            "/v1/prompts",
            json={
                "name": "trip",
                "messages": V1,
                "model": "writer",
                "params": {"temperature": 0.2},
                "labels": ["production"],
            },
            headers=auth(tenant),
        )
        assert r.status_code == 201, r.text
        prompt_id = r.json()["prompt_id"]
        r = await gateway.client.post(
            "/v1/prompts/trip/versions",
            json={"messages": V2, "model": "writer", "params": {"temperature": 0.9}},
            headers=auth(tenant),
        )
        assert r.status_code == 201, r.text
        assert r.json()["version"] == 2
        yield tenant, stub, prompt_id


async def by_prompt(client: openai.AsyncOpenAI, prompt: dict[str, Any]) -> ChatCompletion:
    """A chat request with neither `model` nor `messages`: the prompt names both."""
    return await client.post("/chat/completions", body={"prompt": prompt}, cast_to=ChatCompletion)


async def test_a_prompt_reference_replaces_the_messages(
    gateway: Gateway, base_url: str, setup: tuple[uuid.UUID, Stub, str]
) -> None:
    tenant, stub, prompt_id = setup
    client = llm(base_url, tenant)

    first = await by_prompt(client, {"name": "trip", "variables": {"city": "Lisbon"}})
    assert first.model == "writer"
    assert first.choices[0].message.content == "Suggest a trip to Lisbon."
    sent = stub.requests[-1].body
    assert sent["model"] == "gpt-writer"
    assert sent["messages"] == [
        {"role": "system", "content": "You are a travel agent."},
        {"role": "user", "content": "Suggest a trip to Lisbon."},
    ]
    assert sent["temperature"] == 0.2
    assert "prompt" not in sent  # a gateway member never goes upstream

    # the openai client's own call, messages empty and the prompt in extra_body
    again = await client.chat.completions.create(
        model="writer",
        messages=[],
        extra_body={"prompt": {"name": "trip", "variables": {"city": "Porto"}}},
    )
    assert again.choices[0].message.content == "Suggest a trip to Porto."

    # moving the label is the release (and the rollback): the next call renders v2
    r = await gateway.client.put(
        "/v1/prompts/trip/labels/production", json={"version": 2}, headers=auth(tenant)
    )
    assert r.status_code == 200, r.text
    variables = {"city": "Oslo", "season": "winter"}
    second = await by_prompt(client, {"name": "trip", "variables": variables})
    assert second.choices[0].message.content == "One sentence on Oslo in winter."
    assert stub.requests[-1].body["messages"][0]["content"] == "You are a terse travel agent."
    assert stub.requests[-1].body["temperature"] == 0.9

    # an exact version wins over the label
    pinned = await by_prompt(
        client,
        {"name": "trip", "label": "production", "version": 1, "variables": {"city": "Rome"}},
    )
    assert pinned.choices[0].message.content == "Suggest a trip to Rome."
    assert stub.requests[-1].body["temperature"] == 0.2

    # a variable the version needs and the request lacks: refused before any upstream call
    calls = len(stub.requests)
    with pytest.raises(openai.BadRequestError) as missing:
        await by_prompt(client, {"name": "trip", "variables": {"city": "Oslo"}})
    assert "season" in missing.value.message
    assert missing.value.param == "prompt.variables.season"
    with pytest.raises(openai.NotFoundError):
        await by_prompt(client, {"name": "no-such-prompt", "variables": {}})
    assert len(stub.requests) == calls

    await gateway.deps.recorder.flush()
    r = await gateway.client.get("/v1/prompts/trip/usage", headers=auth(tenant))
    assert r.status_code == 200, r.text
    per_version = {v["version"]: v["requests"] for v in r.json()["versions"]}
    assert per_version == {1: 3, 2: 1}
    r = await gateway.client.get("/v1/traces", headers=auth(tenant))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    # the two refusals are traced too (every attempt is), before any prompt was rendered
    assert [t["status"] for t in items[:2]] == ["error", "error"]
    traces = items[2:]
    # newest first
    assert [(t["prompt_id"], t["prompt_version"]) for t in traces] == [
        (prompt_id, 1),
        (prompt_id, 2),
        (prompt_id, 1),
        (prompt_id, 1),
    ]
    r = await gateway.client.get("/v1/usage", params={"group_by": "prompt"}, headers=auth(tenant))
    assert r.status_code == 200, r.text
    groups = {g["group"]["prompt"]: g["requests"] for g in r.json()["data"]}
    # the refusals count as requests of no prompt (refused before one was rendered)
    assert groups == {f"{prompt_id}:1": 3, f"{prompt_id}:2": 1, None: 2}


async def test_a_streamed_call_renders_the_prompt_too(
    gateway: Gateway, base_url: str, setup: tuple[uuid.UUID, Stub, str]
) -> None:
    tenant, _, prompt_id = setup
    request_id = str(uuid.uuid4())
    stream = await llm(base_url, tenant).chat.completions.create(
        model="writer",
        messages=[],
        stream=True,
        extra_body={
            "prompt": {"name": "trip", "version": 2, "variables": {"city": "Nice", "season": "May"}}
        },
        extra_headers={"X-Request-Id": request_id},
    )
    text = ""
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
    assert text == "One sentence on Nice in May."
    await gateway.deps.recorder.flush()
    r = await gateway.client.get(
        "/v1/traces", params={"request_id": request_id}, headers=auth(tenant)
    )
    [trace] = r.json()["items"]
    assert (trace["prompt_id"], trace["prompt_version"], trace["stream"]) == (prompt_id, 2, True)
