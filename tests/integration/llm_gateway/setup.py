"""Configuring a tenant's gateway through its admin API, as an operator would."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import uvicorn
from fastapi import FastAPI

from tests.integration.llm_gateway.harness import Gateway, auth


async def provider(
    gw: Gateway, tenant: UUID, name: str, base_url: str | None, kind: str = "openai", **extra: Any
) -> str:
    body = {"name": name, "kind": kind, "base_url": base_url, **extra}
    r = await gw.client.post("/v1/providers", json=body, headers=auth(tenant))
    assert r.status_code == 201, r.text
    return str(r.json()["provider_id"])


async def model(
    gw: Gateway,
    tenant: UUID,
    provider_id: str,
    name: str,
    *,
    upstream: str | None = None,
    price: tuple[str, str] | None = None,
    context_window: int = 128_000,
    **extra: Any,
) -> str:
    body: dict[str, Any] = {
        "name": name,
        "upstream": upstream or name,
        "context_window": context_window,
        "capabilities": ["tools", "json"],
        "tier": "balanced",
        **extra,
    }
    if price is not None:
        body["price"] = {"input": price[0], "output": price[1]}
    r = await gw.client.post(f"/v1/providers/{provider_id}/models", json=body, headers=auth(tenant))
    assert r.status_code == 201, r.text
    return str(r.json()["model_id"])


async def alias(gw: Gateway, tenant: UUID, name: str, *models: str) -> None:
    """An alias trying `models` in this order: the first takes all the traffic (weight 1),
    the others are fallbacks only (weight 0)."""
    targets = [{"model": m, "weight": 1 if i == 0 else 0} for i, m in enumerate(models)]
    r = await gw.client.post(
        "/v1/aliases", json={"name": name, "targets": targets}, headers=auth(tenant)
    )
    assert r.status_code == 201, r.text


async def budget(gw: Gateway, tenant: UUID, **body: Any) -> str:
    r = await gw.client.post("/v1/budgets", json=body, headers=auth(tenant))
    assert r.status_code == 201, r.text
    return str(r.json()["budget_id"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The app behind a real uvicorn on 127.0.0.1 (what the openai client and streaming
    need: an in-process transport buffers whole responses). Its lifespan is not run again:
    the session's gateway already runs it."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
