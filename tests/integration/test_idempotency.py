"""Idempotency-Key through a real FastAPI app over the sample database: one effect per key,
replays identical, a reused key with another body refused, concurrent duplicates wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Annotated
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import func, select

from agentsuite_kit.db.tables import idempotency_keys, jobs
from agentsuite_kit.http import PROBLEM_MEDIA_TYPE, create_app
from agentsuite_kit.http.idempotency import IdempotencyKeys, idempotency
from agentsuite_kit.jobs import JobRepository
from tests.integration.sample.uow import SampleUow

Uow = Callable[..., SampleUow]


class Order(BaseModel):
    item: str


class Crash(Exception):
    """The process dies between the effect and the commit."""


def build(uow: Uow, kind: str, *, pause: bool = False) -> FastAPI:
    app = create_app("idempotency-test", "0")

    @app.post("/orders", response_model=None)
    async def create(
        order: Order,
        request: Request,
        tenant: Annotated[UUID, Header(alias="X-Tenant")],
        subject: Annotated[str, Header(alias="X-Subject")],
        crash: Annotated[bool, Header(alias="X-Crash")] = False,
        save: Annotated[bool, Header(alias="X-Save")] = True,
    ) -> Response:
        async with uow(tenant) as u:
            idem = await idempotency(request, u.session, subject=subject)
            if idem.replay is not None:
                return idem.replay
            # the effect: a row in the same transaction
            order_id = await JobRepository(u.session).schedule(kind, payload={"item": order.item})
            response = JSONResponse(
                {"id": str(order_id), "item": order.item},
                status_code=201,
                headers={"Location": f"/orders/{order_id}"},
            )
            if save:
                await idem.save(response)
            if pause:
                await asyncio.sleep(0.3)  # hold the key uncommitted while a duplicate arrives
            if crash:
                raise Crash
            await u.commit()
        return response

    return app


@pytest.fixture
def kind() -> str:
    return f"order.{uuid4().hex[:8]}"


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.fixture
async def client(uow: Uow, kind: str) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(build(uow, kind)) as c:
        yield c


def _headers(tenant: UUID, key: str | None, subject: str = "user-1") -> dict[str, str]:
    headers = {"X-Tenant": str(tenant), "X-Subject": subject}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


async def _effects(uow: Uow, kind: str) -> int:
    async with uow(None, all_tenants=True) as u:
        count = await u.session.scalar(
            select(func.count()).select_from(jobs).where(jobs.c.kind == kind)
        )
    return int(count or 0)


async def test_retry_with_same_key_replays_the_response_without_a_second_effect(
    client: httpx.AsyncClient, uow: Uow, kind: str
) -> None:
    tenant = uuid4()
    first = await client.post("/orders", json={"item": "a"}, headers=_headers(tenant, "k-1"))
    again = await client.post("/orders", json={"item": "a"}, headers=_headers(tenant, "k-1"))
    assert first.status_code == again.status_code == 201
    assert first.content == again.content
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["content-type"] == "application/json"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await _effects(uow, kind) == 1


async def test_key_is_per_tenant_and_subject_and_absent_key_stores_nothing(
    client: httpx.AsyncClient, uow: Uow, kind: str
) -> None:
    tenant = uuid4()
    for headers in (
        _headers(tenant, "k"),
        _headers(uuid4(), "k"),
        _headers(tenant, "k", subject="user-2"),
        _headers(tenant, None),
        _headers(tenant, None),
    ):
        r = await client.post("/orders", json={"item": "a"}, headers=headers)
        assert (r.status_code, r.headers.get("Idempotent-Replayed")) == (201, None)
    assert await _effects(uow, kind) == 5


async def test_same_key_with_another_body_answers_422_naming_the_header(
    client: httpx.AsyncClient, uow: Uow, kind: str
) -> None:
    tenant = uuid4()
    await client.post("/orders", json={"item": "a"}, headers=_headers(tenant, "k"))
    r = await client.post("/orders", json={"item": "b"}, headers=_headers(tenant, "k"))
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert r.json()["detail"].startswith("Idempotency-Key:")
    assert await _effects(uow, kind) == 1


@pytest.mark.parametrize(
    ("key", "reason"),
    [("", "empty"), ("x" * 256, "at most 255"), ("a b", "visible ASCII"), ('a"b', "visible")],
)
async def test_bad_key_answers_400_with_the_reason(
    client: httpx.AsyncClient, uow: Uow, kind: str, key: str, reason: str
) -> None:
    headers = _headers(uuid4(), None) | {"Idempotency-Key": key}
    r = await client.post("/orders", json={"item": "a"}, headers=headers)
    assert r.status_code == 400
    assert r.json()["detail"].startswith("Idempotency-Key:")
    assert reason in r.json()["detail"]
    assert await _effects(uow, kind) == 0


async def test_quoted_key_is_the_same_key(client: httpx.AsyncClient) -> None:
    tenant = uuid4()
    await client.post("/orders", json={"item": "a"}, headers=_headers(tenant, "k"))
    r = await client.post("/orders", json={"item": "a"}, headers=_headers(tenant, '"k"'))
    assert r.headers["Idempotent-Replayed"] == "true"


async def test_crash_before_commit_leaves_no_key_so_the_retry_runs(
    client: httpx.AsyncClient, uow: Uow, kind: str
) -> None:
    tenant = uuid4()
    crashed = _headers(tenant, "k") | {"X-Crash": "true"}
    assert (await client.post("/orders", json={"item": "a"}, headers=crashed)).status_code == 500
    assert await _effects(uow, kind) == 0
    retry = await client.post("/orders", json={"item": "a"}, headers=_headers(tenant, "k"))
    assert (retry.status_code, retry.headers.get("Idempotent-Replayed")) == (201, None)
    assert await _effects(uow, kind) == 1


async def test_concurrent_duplicates_make_one_effect_and_two_identical_responses(
    uow: Uow, kind: str
) -> None:
    tenant = uuid4()
    async with _client(build(uow, kind, pause=True)) as client:
        a, b = await asyncio.gather(
            *(
                client.post("/orders", json={"item": "a"}, headers=_headers(tenant, "same"))
                for _ in range(2)
            )
        )
    assert a.status_code == b.status_code == 201
    assert a.content == b.content
    assert sorted(
        [a.headers.get("Idempotent-Replayed"), b.headers.get("Idempotent-Replayed")], key=str
    ) == [None, "true"]
    assert await _effects(uow, kind) == 1


async def test_expired_key_is_taken_afresh_and_pruned(
    client: httpx.AsyncClient, uow: Uow, kind: str
) -> None:
    tenant = uuid4()
    await client.post("/orders", json={"item": "a"}, headers=_headers(tenant, "old"))
    async with uow(None, all_tenants=True) as u:  # a day passes
        await u.session.execute(
            idempotency_keys.update()
            .where(idempotency_keys.c.tenant_id == tenant)
            .values(created_at=func.now() - timedelta(days=2))
        )
        await u.commit()
    r = await client.post("/orders", json={"item": "a"}, headers=_headers(tenant, "old"))
    assert (r.status_code, r.headers.get("Idempotent-Replayed")) == (201, None)
    assert await _effects(uow, kind) == 2
    async with uow(None, all_tenants=True) as u:
        await u.session.execute(
            idempotency_keys.update()
            .where(idempotency_keys.c.tenant_id == tenant)
            .values(created_at=func.now() - timedelta(days=2))
        )
        assert await IdempotencyKeys(u.session).prune(timedelta(days=1)) >= 1
        await u.commit()
    async with uow(tenant) as u:
        left = await u.session.scalar(select(func.count()).select_from(idempotency_keys))
    assert left == 0


async def test_key_committed_without_a_response_answers_409(
    client: httpx.AsyncClient, uow: Uow, kind: str
) -> None:
    tenant = uuid4()
    unsaved = _headers(tenant, "k") | {"X-Save": "false"}
    assert (await client.post("/orders", json={"item": "a"}, headers=unsaved)).status_code == 201
    r = await client.post("/orders", json={"item": "a"}, headers=_headers(tenant, "k"))
    assert r.status_code == 409
    assert r.json()["detail"].startswith("Idempotency-Key:")
    assert await _effects(uow, kind) == 1
