"""What the end-to-end tests share: the official client of the served gateway (the
`base_url` fixture is in conftest.py), a tenant whose alias `duo` tries two stub upstreams
in turn, and reading back the traces a call left."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import openai

from tests.integration.llm_gateway.harness import Gateway, auth, token
from tests.integration.llm_gateway.setup import alias, model, provider
from tests.integration.llm_gateway.stub import Stub, stub_upstream

Price = tuple[str, str] | None


def llm(base_url: str, tenant: uuid.UUID, **claims: Any) -> openai.AsyncOpenAI:
    """The openai client of `tenant` (a token with `llm:invoke` and `claims`), no retries."""
    return openai.AsyncOpenAI(
        base_url=f"{base_url}/v1", api_key=token(tenant, ["llm:invoke"], **claims), max_retries=0
    )


@asynccontextmanager
async def duo(
    gateway: Gateway, price_a: Price = None, price_b: Price = None
) -> AsyncIterator[tuple[uuid.UUID, Stub, Stub, str]]:
    """A new tenant with model-a (provider a) and model-b (provider b) on two stubs, and
    alias `duo` trying model-a, then model-b; yields the tenant, both stubs and a's id."""
    tenant = uuid.uuid4()
    async with stub_upstream() as first, stub_upstream() as second:
        a = await provider(gateway, tenant, "a", first.url)
        b = await provider(gateway, tenant, "b", second.url)
        await model(gateway, tenant, a, "model-a", price=price_a)
        await model(gateway, tenant, b, "model-b", price=price_b)
        await alias(gateway, tenant, "duo", "model-a", "model-b")
        yield tenant, first, second, a


async def traces(gateway: Gateway, tenant: uuid.UUID, **params: str) -> list[dict[str, Any]]:
    """The tenant's traces (`GET /v1/traces` with `params`) once the recorder flushed."""
    await gateway.deps.recorder.flush()
    r = await gateway.client.get("/v1/traces", params=params, headers=auth(tenant))
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def trace_of(gateway: Gateway, tenant: uuid.UUID, request_id: str) -> dict[str, Any]:
    """The one trace of a request, waiting for it a while: a hung-up stream is recorded
    only when its handler unwinds."""
    for _ in range(50):
        found = await traces(gateway, tenant, request_id=request_id)
        if found:
            [trace] = found
            return trace
        await asyncio.sleep(0.1)
    raise AssertionError(f"no trace of {request_id}")
