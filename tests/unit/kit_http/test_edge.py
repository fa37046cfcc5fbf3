"""The kit edge (agentsuite_kit.edge): named dependencies, the tenant's unit of work,
domain refusals, creates, ETags, pages, the body limit and documented problems."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, cast

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request, Response

from agentsuite_kit.auth import Principal
from agentsuite_kit.cause import cause
from agentsuite_kit.db.scoped import ScopedConnection
from agentsuite_kit.edge import (
    INVALID,
    NOT_FOUND,
    CurrentPrincipal,
    IfMatch,
    Made,
    Pages,
    app_state,
    bounded,
    create,
    errors,
    expected_version,
    found,
    gate,
    problems,
    read_body,
    subject_id,
    tagged,
    uow_dependency,
    user_id_of,
    user_required,
)
from agentsuite_kit.errors import Conflict, Forbidden, Invalid, NotFound
from agentsuite_kit.http import create_app
from agentsuite_kit.http.contention import RetryingRoute
from agentsuite_kit.http.problems import ProblemError
from tests.unit.kit_auth.test_dependencies import ORG, TENANT, StubVerifier, bearer
from tests.unit.kit_http.helpers import client_for

pytestmark = pytest.mark.unit

USER = uuid.uuid4()


def principal(**claims: Any) -> Principal:
    return Principal.from_claims({"sub": str(USER), "tid": str(TENANT), **claims})


@dataclass
class FakeUow:
    tenant: uuid.UUID
    journal: list[str]
    committed: bool = False
    actors: list[str | None] = field(default_factory=list)

    @property
    def session(self) -> ScopedConnection:
        # no Idempotency-Key is sent: `idempotency` never touches the session
        return cast(ScopedConnection, object())

    async def commit(self) -> None:
        self.committed = True


@dataclass
class FakeDeps:
    journal: list[str] = field(default_factory=list)

    @asynccontextmanager
    async def uow(self, tenant: uuid.UUID) -> AsyncIterator[FakeUow]:
        self.journal.append(f"open {tenant}")
        unit = FakeUow(tenant, self.journal)
        try:
            yield unit
        except BaseException as exc:
            self.journal.append(f"rollback {type(exc).__name__}")
            raise
        self.journal.append(f"close committed={unit.committed}")


AppDeps = Annotated[FakeDeps, Depends(app_state("deps", FakeDeps))]
Uow = Annotated[FakeUow, uow_dependency(lambda request, tenant: request.app.state.deps.uow(tenant))]
OrgUow = Annotated[
    FakeUow, uow_dependency(lambda request, tenant: request.app.state.deps.uow(tenant), org=True)
]
Writer = Annotated[Principal, gate("things:write")]

routes = APIRouter(route_class=bounded(64))


@dataclass(frozen=True)
class Thing:
    version: int


@routes.post("/things", status_code=201, responses=errors(INVALID, (409, "Taken.")))
async def make_thing(request: Request, who: Writer, uow: Uow, deps: AppDeps) -> Response:
    async def make() -> Made:
        name = (await request.json())["name"]
        if name == "taken":
            raise Conflict("name_taken", "the name is taken", field="name")
        actor = cause().actor
        return {"name": name, "actor": None if actor is None else actor.id}, 3

    return await create(request, uow, who, make)


@routes.get("/things/{version}", responses=errors(NOT_FOUND))
async def read_thing(version: int, response: Response, who: CurrentPrincipal) -> Thing:
    return tagged(response, found(Thing(version) if version > 0 else None, "no such thing"))


@routes.put("/things/{version}")
async def put_thing(version: int, who: CurrentPrincipal, precondition: IfMatch) -> Thing:
    precondition.check(version)
    return Thing(version)


@routes.get("/pages")
async def pages(page: Pages) -> dict[str, Any]:
    return {"limit": page.limit, "after": page.after}


@routes.get("/org-things")
async def org_things(uow: OrgUow) -> dict[str, str]:
    return {"tenant": str(uow.tenant)}


def build() -> tuple[FastAPI, FakeDeps]:
    app = create_app("edge-test", "0")
    app.state.keyset = StubVerifier()
    deps = FakeDeps()
    app.state.deps = deps
    app.include_router(routes)
    return app, deps


async def test_a_create_runs_in_the_tenant_uow_as_the_principal_and_answers_201() -> None:
    app, deps = build()
    async with client_for(app) as client:
        answer = await client.post(
            "/things", json={"name": "a"}, headers=bearer("caps:things:write")
        )
    assert answer.status_code == 201
    assert answer.headers["ETag"] == '"3"'
    assert answer.json() == {"name": "a", "actor": "u-1"}
    assert deps.journal == [f"open {TENANT}", "close committed=True"]


async def test_a_domain_refusal_rolls_the_uow_back_and_answers_its_problem() -> None:
    app, deps = build()
    async with client_for(app) as client:
        answer = await client.post(
            "/things", json={"name": "taken"}, headers=bearer("caps:things:write")
        )
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "name_taken"
    assert answer.json()["field"] == "name"
    assert deps.journal == [f"open {TENANT}", "rollback Conflict"]


async def test_the_gate_refuses_before_any_uow_is_opened() -> None:
    app, deps = build()
    async with client_for(app) as client:
        answer = await client.post("/things", json={"name": "a"}, headers=bearer("caps:other"))
        missing = await client.post("/things", json={"name": "a"})
    assert answer.status_code == 403
    assert answer.json()["code"] == "insufficient_capability"
    assert missing.status_code == 401
    assert deps.journal == []


async def test_the_tenant_uow_refuses_an_org_token_unless_the_route_says_org() -> None:
    app, _ = build()
    async with client_for(app) as client:
        wide = await client.post("/things", json={"name": "a"}, headers=bearer("org:things:write"))
        confined = await client.get("/org-things", headers=bearer("org:"))
    assert wide.status_code == 403
    assert wide.json()["code"] == "org_scope"
    assert confined.status_code == 200
    assert confined.json() == {"tenant": str(TENANT)}
    assert ORG != TENANT


async def test_the_body_limit_answers_413_before_parsing() -> None:
    app, deps = build()
    async with client_for(app) as client:
        declared = await client.post(
            "/things", content=b"x" * 65, headers=bearer("caps:things:write")
        )

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b"x" * 20

        streamed = await client.post(
            "/things", content=chunks(), headers=bearer("caps:things:write")
        )
    for answer in (declared, streamed):
        assert answer.status_code == 413
        assert answer.json()["code"] == "body_too_large"
    assert deps.journal == []


async def test_bounded_keeps_the_base_route_class() -> None:
    route = bounded(10, RetryingRoute)
    assert issubclass(route, RetryingRoute)


async def test_read_body_uses_the_callers_refusal() -> None:
    class TooBig(Exception):
        pass

    scope = {
        "type": "http",
        "method": "POST",
        "headers": [(b"content-length", b"11")],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"x" * 11, "more_body": False}

    with pytest.raises(TooBig):
        await read_body(Request(scope, receive), 10, refuse=lambda limit: TooBig(limit))


async def test_found_tagged_if_match_and_pages() -> None:
    app, _ = build()
    async with client_for(app) as client:
        read = await client.get("/things/4", headers=bearer("caps:"))
        gone = await client.get("/things/0", headers=bearer("caps:"))
        stale = await client.put("/things/4", headers={**bearer("caps:"), "If-Match": '"3"'})
        unsent = await client.put("/things/4", headers=bearer("caps:"))
        fine = await client.put("/things/4", headers={**bearer("caps:"), "If-Match": '"4"'})
        page = await client.get("/pages")
        bad = await client.get("/pages?cursor=zz")
    assert (read.status_code, read.headers["ETag"]) == (200, '"4"')
    assert (gone.status_code, gone.json()["code"]) == (404, "not_found")
    assert (stale.status_code, stale.headers["ETag"]) == (412, '"4"')
    assert unsent.status_code == 428
    assert fine.status_code == 200
    assert page.json() == {"limit": 50, "after": None}
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_cursor")


async def test_errors_documents_problem_responses() -> None:
    app, _ = build()
    spec = app.openapi()
    post = spec["paths"]["/things"]["post"]["responses"]
    assert post["409"]["description"] == "Taken."
    assert "application/problem+json" in post["422"]["content"]


def test_user_id_of_only_a_users_uuid_subject() -> None:
    assert user_id_of(principal()) == USER
    assert user_id_of(principal(kind="api_key")) is None
    assert subject_id(principal(kind="api_key")) == USER
    named = Principal.from_claims({"sub": "ops", "kind": "platform"})
    assert user_id_of(named) is None
    assert subject_id(named) is None
    assert user_required(principal()) == USER
    with pytest.raises(Forbidden, match="people only") as refused:
        user_required(principal(kind="service"), "people only", "user_token_required")
    assert refused.value.code == "user_token_required"


def test_problems_acts_as_the_principal_and_maps_a_refusal() -> None:
    with problems(principal()):
        actor = cause().actor
        assert actor is not None
        assert actor.id == str(USER)
    assert cause().actor is None
    with pytest.raises(ProblemError) as caught, problems():
        raise Invalid("too_long", "at most 3", field="name")
    assert caught.value.problem.status == 422
    body = caught.value.problem.model_dump(mode="json", exclude_none=True)
    assert body["code"] == "too_long"
    assert body["field"] == "name"
    assert body["errors"] == [{"loc": ["body", "name"], "msg": "at most 3", "type": "value_error"}]


def test_expected_version() -> None:
    assert expected_version(None) is None
    assert expected_version("*") is None
    assert expected_version('"7"') == 7
    assert expected_version('W/"7"') == -1
    assert expected_version('"7", "8"') == -1
    with pytest.raises(ProblemError):
        expected_version("7")


def test_app_state_names_a_wiring_mistake() -> None:
    app = FastAPI()
    scope = {"type": "http", "app": app, "headers": []}
    with pytest.raises(RuntimeError, match=r"app\.state\.deps"):
        app_state("deps", FakeDeps)(Request(scope))
    app.state.deps = FakeDeps()
    assert isinstance(app_state("deps", FakeDeps)(Request(scope)), FakeDeps)


def test_not_found_is_a_domain_error() -> None:
    # `found` raises the kit's NotFound: any edge (HTTP or a consumer) knows its kind
    with pytest.raises(NotFound) as missing:
        found(None, "no thing")
    assert missing.value.code == "not_found"
