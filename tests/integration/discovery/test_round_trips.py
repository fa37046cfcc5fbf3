"""A turn's round trips to PostgreSQL (its latency is mostly them): the POST and the
answer's application each read the session once, the objective not at all once parsed (a
version never changes), and write each table once. Counted, not timed: a count does not
depend on how loaded the machine is. And the parsed objectives are the tenant's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import event

from agentsuite_contracts.identity import TenantStatus
from agentsuite_discovery.handlers import llm
from agentsuite_kit.tenants import TenantFact
from tests.integration.discovery.harness import Service
from tests.integration.discovery.llm_support import (
    FakeGateway,
    User,
    extraction,
    extractions,
    obligations,
    with_objective,
)

# the kit's share of a turn (its scope, the LLM call, its job, the outbox) is not discovery's
KIT = ("set_config", "llm_calls", "jobs", "outbox")
COUNTING: ContextVar[list[str] | None] = ContextVar("counting", default=None)


@pytest.fixture
def statements(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    """discovery's own statements of a turn, by part: "post" (counted in the test's task)
    and "apply" (`llm.answered`, in the consumer's)."""
    seen: dict[str, list[str]] = {"post": [], "apply": []}

    def counted(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        into = COUNTING.get()
        if into is not None and not any(k in statement for k in KIT):
            into.append(" ".join(statement.split())[:120])

    answered = llm.answered

    async def probed(*args: Any, **kwargs: Any) -> None:
        token = COUNTING.set(seen["apply"])
        try:
            await answered(*args, **kwargs)
        finally:
            COUNTING.reset(token)

    monkeypatch.setattr(llm, "answered", probed)
    engine = service.deps.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counted)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", counted)


@pytest.mark.parametrize("objective", ["notify", "default"])
async def test_a_turn_reads_the_session_once_and_the_objective_not_at_all(
    service: Service, gateway: FakeGateway, statements: dict[str, list[str]], objective: str
) -> None:
    user = User(service)
    await with_objective(user)
    sid = (await user.open(objective))["id"]
    low = extraction("goal", "tell customers", confidence=0.3)
    gateway.script(user.tenant, extractions(low), extractions(low))
    await user.say(sid, "first")  # the objective parsed here (or when opened)
    statements["post"].clear()
    statements["apply"].clear()
    token = COUNTING.set(statements["post"])
    try:
        r = await user.post(f"/v1/sessions/{sid}/turns", {"content": "second"})
    finally:
        COUNTING.reset(token)
    assert r.status_code == 202, r.text
    view = await user.settled(sid)
    assert view["status"] == "gathering"
    # the session with its obligations and its tenant's status (locked), the turn inserted
    # with the session's change, the recent turns
    assert len(statements["post"]) <= 3, statements["post"]
    # the turn, extractions, obligations, the turn answered, the asked questions, the agent's
    # turn with the session's change and the question marked asked
    assert len(statements["apply"]) <= 6, statements["apply"]
    assert not any("objectives" in s for s in statements["post"] + statements["apply"])


async def test_the_same_objective_key_and_version_are_each_tenants_own(
    service: Service, gateway: FakeGateway
) -> None:
    ours, theirs = User(service), User(service)
    for user, key in ((ours, "ours_only"), (theirs, "theirs_only")):
        body = {
            "key": "shared",
            "title": "Shared",
            "description": "The same key and version in two tenants",
            "obligations": [{"key": key, "title": key, "description": key, "kind": "goal"}],
        }
        await with_objective(user, body)
    for user, key in ((ours, "ours_only"), (theirs, "theirs_only")):
        sid = (await user.open("shared"))["id"]
        gateway.script(user.tenant, extractions(extraction(key, "x", confidence=0.3)))
        view = await user.say(sid, "hello")
        assert set(obligations(view)) == {key}
        assert obligations(view)[key]["value"] == "x"  # applied to this tenant's obligation
        system = gateway.requests(user.tenant)[-1].messages[0].content
        assert key in str(system)


async def test_a_suspended_tenants_turn_is_refused_whether_or_not_the_session_exists(
    service: Service,
) -> None:
    # the tenant's status is read with the session now: refused before anything is written,
    # and "inactive" before "not found", as when it was read on its own
    user = User(service)
    sid = (await user.open())["id"]
    async with service.deps.runtime.uow(user.tenant) as uow:
        await uow.tenants.apply(user.tenant, TenantFact(TenantStatus.SUSPENDED, datetime.now(UTC)))
        await uow.commit()
    for session_id in (sid, uuid4()):
        r = await user.post(f"/v1/sessions/{session_id}/turns", {"content": "hello"})
        assert (r.status_code, r.json()["code"]) == (409, "tenant_inactive"), r.text
    view = await user.session(sid)
    assert (view["status"], view["turns"]) == ("gathering", 0)
