"""Catalogs' freshness rules, with a stand-in unit of work (no database): what a load
racing a change keeps, what a warm read costs, how long entries live without a listener."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from types import SimpleNamespace, TracebackType
from typing import Any
from uuid import UUID

from agentsuite_llm_gateway.catalogs import Catalogs
from agentsuite_llm_gateway.settings import GatewaySettings


class FakeUow:
    """Answers every loader query; `gate` holds a load open until the test releases it."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    async def __aenter__(self) -> Any:
        gate: asyncio.Event | None = self.state.get("gate")
        if gate is not None:
            await gate.wait()
        rows = list(self.state["providers"])

        async def providers() -> list[dict[str, Any]]:
            return rows

        async def nothing() -> list[Any]:
            return []

        repo = SimpleNamespace(all=nothing)
        return SimpleNamespace(
            providers=SimpleNamespace(all=providers),
            models=repo,
            prices=repo,
            aliases=repo,
            rules=repo,
            preferences=repo,
            budgets=SimpleNamespace(rules=nothing),
        )

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


def catalogs(state: dict[str, Any], ttl: float = 60.0) -> Catalogs:
    values: dict[str, Any] = {
        "database_url": "postgresql+asyncpg://u:p@127.0.0.1/db",
        "kafka_bootstrap_servers": "127.0.0.1:9092",
        "credential_keys": {"k": base64.b64encode(os.urandom(32)).decode()},
        "credential_key_id": "k",
        "config_ttl": ttl,
    }
    return Catalogs(GatewaySettings(**values), lambda tenant: FakeUow(state))  # type: ignore[arg-type,return-value]


def provider(name: str) -> dict[str, Any]:
    return {
        "provider_id": uuid.uuid4(),
        "name": name,
        "kind": "openai",
        "base_url": "https://x.example.com",
        "enabled": True,
        "options": {},
        "credential": None,
        "credential_key_id": None,
    }


def listening(c: Catalogs) -> None:
    """As if the LISTEN connection were up (the unit tests open none)."""
    c.changes._conn = object()
    c.changes._lost.clear()
    c.changes._epoch += 1  # as a connect does


T: UUID = uuid.uuid4()


async def test_warm_reads_cost_nothing_and_forget_reloads() -> None:
    state: dict[str, Any] = {"providers": [provider("a")]}
    c = catalogs(state)
    listening(c)
    first = await c.get(T)
    assert await c.get(T) is first
    assert c.loads == 1
    state["providers"].append(provider("b"))
    assert "b" not in (await c.get(T)).providers
    c.forget(T)
    assert "b" in (await c.get(T)).providers
    assert c.loads == 2


async def test_a_change_during_a_load_leaves_the_result_stale() -> None:
    gate = asyncio.Event()
    state: dict[str, Any] = {"providers": [provider("a")], "gate": gate}
    c = catalogs(state)
    listening(c)
    waiting = asyncio.create_task(c.get(T))
    await asyncio.sleep(0)
    c.forget(T)  # the notification arrives while the load is under way
    late = asyncio.create_task(c.get(T))  # a read after the change does not join it
    await asyncio.sleep(0)
    state["providers"].append(provider("b"))
    gate.set()
    await waiting
    assert "b" in (await late).providers
    assert "b" in (await c.get(T)).providers


async def test_without_a_listener_entries_live_config_ttl() -> None:
    state: dict[str, Any] = {"providers": []}
    c = catalogs(state, ttl=0.05)
    await c.get(T)
    await c.get(T)
    assert c.loads == 1
    await asyncio.sleep(0.06)
    await c.get(T)
    assert c.loads == 2


async def test_losing_the_listener_falls_back_to_the_ttl() -> None:
    state: dict[str, Any] = {"providers": []}
    c = catalogs(state, ttl=0.05)
    listening(c)
    await c.get(T)
    await asyncio.sleep(0.06)
    await c.get(T)
    assert c.loads == 1  # listening: trusted past the ttl
    c.changes._on_lost(None)
    await c.get(T)
    assert c.loads == 2  # loaded before the loss, older than the ttl
    listening(c)  # reconnected: notifications sent meanwhile are lost
    await c.get(T)
    assert c.loads == 2
    await asyncio.sleep(0.06)
    await c.get(T)
    assert c.loads == 3


async def test_a_failed_load_is_the_callers_error_and_is_retried() -> None:
    state: dict[str, Any] = {"providers": [{"broken": True}]}
    c = catalogs(state)
    results = await asyncio.gather(c.get(T), c.get(T), return_exceptions=True)
    assert all(isinstance(r, KeyError) for r in results)
    assert c.loads == 1
    state["providers"] = []
    assert "local" in (await c.get(T)).providers
