"""discovery's LLM loop against the REAL llm-gateway: a tenant whose gateway routes the model
discovery asks for (`AGENTSUITE_DISCOVERY_MODEL`, default `discovery`) to the built-in
`local` provider in `script` mode, an objective whose rules a scripted session exercises,
and the steps of a session (open, say, wait until the turn is processed, read its events
from the broker).

The script's entries match on the last user message, which discovery sends last: every
turn carries a marker (`[t1-<tag>]`) the entry for it matches, so each turn's answer is
known in advance and no two tests' scripts can collide.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import httpx
from aiokafka import AIOKafkaConsumer

from agentsuite_contracts.topic_names import DISCOVERY_SESSIONS_V1
from tests.integration.discovery.harness import SIGNER
from tests.integration.llm_gateway import setup
from tests.integration.llm_gateway.harness import Gateway

MODEL = "discovery"
# USD per million tokens: 1000 micros a token each way, so every answered call costs
# something and "paid" is `cost_micros > 0` in the gateway's traces
PRICE = ("1000", "1000")
CAPS = [
    "objectives:read",
    "objectives:write",
    "sessions:read",
    "sessions:write",
    "discovery:force_complete",
]
SETTLE = 90.0  # seconds a turn may take through the broker and the gateway (loaded CI)


def headers(tenant: UUID, user: UUID, caps: Sequence[str] = CAPS) -> dict[str, str]:
    return SIGNER.auth(tenant, list(caps), subject=user)


def extraction(
    obligation: str, value: Any, confidence: float = 0.9, kind: str = "fact", **more: Any
) -> dict[str, Any]:
    return {
        "obligation": obligation,
        "value": value,
        "kind": kind,
        "confidence": confidence,
        **more,
    }


def said(marker: str, *extractions: Mapping[str, Any], reply: str = "noted") -> dict[str, Any]:
    """A script entry: the model's structured answer to the turn carrying `marker`."""
    return {"match": marker, "json": {"extractions": list(extractions), "reply": reply}}


def raw(marker: str, text: str) -> dict[str, Any]:
    """A script entry answering the turn carrying `marker` with `text` verbatim."""
    return {"match": marker, "reply": text}


async def gateway_for(
    gw: Gateway, tenant: UUID, script: Sequence[Mapping[str, Any]], **options: Any
) -> str:
    """Give `tenant` a local provider playing `script` and the model discovery asks for;
    the provider's id."""
    pid = await setup.provider(
        gw, tenant, "scripted", None, kind="local", options={"script": list(script), **options}
    )
    await setup.model(gw, tenant, pid, MODEL, upstream="script", price=PRICE)
    return pid


# the objective the scripted sessions run: a validator, dependencies, and a pool whose
# questions open on an earlier answer (`channel`)
NOTIFY: dict[str, Any] = {
    "title": "Notify customers",
    "description": "What a notification plan must know",
    "obligations": [
        {
            "key": "goal",
            "title": "Goal",
            "description": "What the plan achieves",
            "kind": "goal",
            "confidence": 0.8,
        },
        {
            "key": "channel",
            "title": "Channel",
            "description": "How customers are reached",
            "kind": "input",
            "confidence": 0.8,
            "validator": {"type": "string", "enum": ["email", "sms"]},
            "depends_on": ["goal"],
            "questions": [{"key": "channel", "text": "Email or SMS?", "when": None}],
        },
        {
            "key": "audience",
            "title": "Audience",
            "description": "Who receives it",
            "kind": "input",
            "confidence": 0.8,
            "depends_on": ["channel"],
            "questions": [
                {
                    "key": "sms_numbers",
                    "text": "Which phone numbers?",
                    "when": 'answers.channel == "sms"',
                },
                {
                    "key": "email_list",
                    "text": "Which mailing list?",
                    "when": 'answers.channel == "email"',
                },
            ],
        },
    ],
}


async def objective(
    client: httpx.AsyncClient, auth: Mapping[str, str], key: str, body: Mapping[str, Any] = NOTIFY
) -> dict[str, Any]:
    r = await client.post("/v1/objectives", json={"key": key, **body}, headers=dict(auth))
    assert r.status_code == 201, r.text
    view: dict[str, Any] = r.json()
    return view


async def open_session(
    client: httpx.AsyncClient, auth: Mapping[str, str], objective_key: str, **more: Any
) -> dict[str, Any]:
    body = {"objective": objective_key, "title": "scripted", **more}
    r = await client.post("/v1/sessions", json=body, headers=dict(auth))
    assert r.status_code == 201, r.text
    view: dict[str, Any] = r.json()
    return view


async def view_of(client: httpx.AsyncClient, auth: Mapping[str, str], sid: str) -> dict[str, Any]:
    r = await client.get(f"/v1/sessions/{sid}", headers=dict(auth))
    assert r.status_code == 200, r.text
    view: dict[str, Any] = r.json()
    return view


async def settled(
    client: httpx.AsyncClient, auth: Mapping[str, str], sid: str, within: float = SETTLE
) -> dict[str, Any]:
    """The session's view once no LLM call is pending (`thinking` is set in the same
    transaction as the 202 of a turn, so this cannot see the state before the turn)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        view = await view_of(client, auth, sid)
        if view["status"] != "thinking":
            return view
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"session {sid} still thinking after {within} s: {view}")
        await asyncio.sleep(0.05)


async def say(
    client: httpx.AsyncClient, auth: Mapping[str, str], sid: str, content: str
) -> dict[str, Any]:
    """Send a turn (202), then the session's view once it is processed."""
    r = await client.post(
        f"/v1/sessions/{sid}/turns", json={"content": content}, headers=dict(auth)
    )
    assert r.status_code == 202, r.text
    return await settled(client, auth, sid)


async def pages(client: httpx.AsyncClient, auth: Mapping[str, str], url: str) -> list[Any]:
    """Every item of a cursor-paged list."""
    out: list[Any] = []
    cursor: str | None = None
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        r = await client.get(url, params=params, headers=dict(auth))
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return out


def obligation(view: Mapping[str, Any], key: str) -> dict[str, Any]:
    [found] = [o for o in view["obligations"] if o["key"] == key]
    return dict(found)


async def session_events(
    kafka: str, sid: str, until: str, within: float = SETTLE
) -> list[dict[str, Any]]:
    """The session's events on `discovery.sessions.v1` (keyed by session), as JSON, up to
    and including the first of type `until`."""
    consumer = AIOKafkaConsumer(
        DISCOVERY_SESSIONS_V1, bootstrap_servers=kafka, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        deadline = asyncio.get_running_loop().time() + within
        while not any(e["type"] == until for e in found):
            if asyncio.get_running_loop().time() > deadline:
                seen = [e["type"] for e in found]
                raise AssertionError(f"no {until} for session {sid} within {within} s: {seen}")
            for records in (await consumer.getmany(timeout_ms=300)).values():
                found += [json.loads(r.value) for r in records if r.key == sid.encode()]
    finally:
        await consumer.stop()
    return found[: 1 + next(i for i, e in enumerate(found) if e["type"] == until)]


async def traces(gw: Gateway, tenant: UUID, at_least: int) -> list[tuple[str, int]]:
    """The tenant's calls in the gateway's traces, (status, cost), oldest first, once at
    least `at_least` of them are over (the recorder writes them in batches, apart from
    the answer)."""

    async def rows() -> list[Any]:
        return await gw.owner_sql(
            "SELECT status, cost_micros FROM calls WHERE tenant_id = :t ORDER BY created_at",
            t=tenant,
        )

    deadline = asyncio.get_running_loop().time() + SETTLE
    while True:
        found = [(str(r[0]), int(r[1])) for r in await rows()]
        if sum(1 for status, _ in found if status != "started") >= at_least:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"fewer than {at_least} calls traced within {SETTLE} s: {found}")
        await asyncio.sleep(0.05)
