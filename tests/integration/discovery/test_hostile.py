"""Hostile input at discovery's edge: oversized, NUL-bearing or lone-surrogate text, retried
requests, cursors it did not issue: a 4xx problem naming the field, never a 500."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from tests.integration.discovery.harness import Service
from tests.integration.discovery.llm_support import (
    FakeGateway,
    User,
    extraction,
    extractions,
)

# JSON text as a client may send it: escapes json.dumps would never write for a str
NUL = '"a\\u0000b"'
SURROGATE = '"a\\ud800b"'


async def raw(user: User, path: str, body: str) -> Any:
    headers = user.headers() | {"Content-Type": "application/json"}
    return await user.service.client.post(path, content=body.encode(), headers=headers)


def problem(r: Any, status: int, field: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in str(r.json().get("field") or r.json().get("errors")), r.text


async def test_a_turn_over_the_limit_is_refused_naming_content(service: Service) -> None:
    user = User(service)
    view = await user.open()
    limit = service.deps.settings.max_turn_chars
    r = await user.post(f"/v1/sessions/{view['id']}/turns", {"content": "x" * (limit + 1)})
    problem(r, 422, "content")
    assert (await user.turns(view["id"]))[-1]["role"] == "agent"  # nothing recorded


@pytest.mark.parametrize("text", [NUL, SURROGATE], ids=["nul", "surrogate"])
async def test_text_postgresql_cannot_hold_is_a_422_at_every_field(
    service: Service, text: str
) -> None:
    user = User(service)
    view = await user.open()
    sid = view["id"]
    problem(await raw(user, f"/v1/sessions/{sid}/turns", f'{{"content": {text}}}'), 422, "content")
    problem(await raw(user, "/v1/sessions", f'{{"title": {text}}}'), 422, "title")
    r = await raw(user, f"/v1/sessions/{sid}/abandon", f'{{"note": {text}}}')
    problem(r, 422, "note")
    r = await raw(user, f"/v1/sessions/{sid}/complete", f'{{"force": true, "reason": {text}}}')
    problem(r, 422, "reason")
    assert (await user.session(sid))["status"] == "gathering"
    prefill = f'{{"title": "t", "prefill": {{"goal": {{"value": {text}, "confidence": 1}}}}}}'
    r = await raw(user, "/v1/sessions", prefill)
    assert r.status_code in (201, 422), r.text
    if r.status_code == 201:
        [rejected] = await user.extractions(r.json()["id"])
        assert rejected["applied"] is False
        assert rejected["reason"].startswith("invalid_value")


async def test_a_turn_on_an_abandoned_session_is_a_409(service: Service) -> None:
    user = User(service)
    view = await user.open()
    await user.post(f"/v1/sessions/{view['id']}/abandon", {})
    r = await user.post(f"/v1/sessions/{view['id']}/turns", {"content": "hello"})
    assert (r.status_code, r.json()["code"]) == (409, "session_closed")


async def test_a_retried_turn_with_its_idempotency_key_is_recorded_once(
    service: Service, gateway: FakeGateway
) -> None:
    user = User(service)
    view = await user.open()
    sid = view["id"]
    gateway.script(user.tenant, extractions(extraction("goal", "g", confidence=0.2)))
    key = {"Idempotency-Key": uuid4().hex}
    first = await user.post(f"/v1/sessions/{sid}/turns", {"content": "hello"}, **key)
    again = await user.post(f"/v1/sessions/{sid}/turns", {"content": "hello"}, **key)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    await user.settled(sid)
    said = [t for t in await user.turns(sid) if t["role"] == "user"]
    assert len(said) == 1
    other = await user.post(f"/v1/sessions/{sid}/turns", {"content": "other"}, **key)
    assert other.status_code == 422, other.text


# per list: garbage, and a well-formed cursor of another list's shape
CURSORS = {
    "/v1/sessions": ["nonsense", "WzFd", "WyJ4Il0"],  # [1], ["x"]: not an id
    "/v1/objectives": ["nonsense", "WzFd"],
    "/v1/sessions/{sid}/turns": ["nonsense", "WyJ4Il0"],
    "/v1/sessions/{sid}/extractions": ["nonsense", "WzFd", "WyJ4Il0"],
}


@pytest.mark.parametrize("path", list(CURSORS))
async def test_a_cursor_it_did_not_issue_is_a_400(service: Service, path: str) -> None:
    user = User(service)
    view = await user.open()
    url = path.format(sid=view["id"])
    for cursor in CURSORS[path]:
        r = await user.get(f"{url}?cursor={cursor}")
        assert r.status_code == 400, f"{url} {cursor}: {r.status_code} {r.text}"


async def test_pages_walk_the_whole_conversation(service: Service) -> None:
    user = User(service)
    for _ in range(3):
        await user.open()
    seen: list[str] = []
    cursor = ""
    while True:
        r = await user.get(f"/v1/sessions?limit=2{cursor}")
        assert r.status_code == 200, r.text
        seen += [s["id"] for s in r.json()["items"]]
        if r.json()["next_cursor"] is None:
            break
        cursor = f"&cursor={r.json()['next_cursor']}"
    assert len(seen) == len(set(seen)) == 3
