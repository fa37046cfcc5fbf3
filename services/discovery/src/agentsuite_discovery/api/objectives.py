"""Objectives: define one, define its next version, list them, read one."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from typing import Annotated, Any, cast

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from agentsuite_discovery.api.edge import (
    AppDeps,
    Bounded,
    IdempotencyKey,
    ObjectiveReader,
    ObjectiveWriter,
    Uow,
)
from agentsuite_discovery.deps import Deps
from agentsuite_discovery.domain.objectives import DEFAULT, Objective, body_of, objective_of
from agentsuite_discovery.handlers.common import objective_for
from agentsuite_discovery.handlers.objectives import DefineObjective, define
from agentsuite_discovery.uow import DiscoveryUow
from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import (
    BAD_CURSOR,
    INVALID,
    NOT_FOUND,
    TOO_LARGE,
    Pages,
    created,
    errors,
    tagged,
)
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import Page, paginate, shaped

routes = APIRouter(prefix="/v1", tags=["objectives"], route_class=Bounded)

KEY = r"^[a-z][a-z0-9_]{0,62}$"
Key = Annotated[str, Path(pattern=KEY, description="The objective's key.")]
Version = Annotated[int, Path(ge=1, le=1_000_000, description="A version number.")]
WRITE = errors(
    (400, "A malformed Idempotency-Key."),
    (409, "The key is taken (or is `default`), or the tenant is suspended or deleted."),
    INVALID,
    TOO_LARGE,
)


class ObjectiveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2_000)
    obligations: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=100,
        description="Each `{key, title, description, kind, required, confidence, validator, "
        "depends_on, questions}` (see the service's README).",
    )


class NewObjective(ObjectiveBody):
    key: str = Field(pattern=KEY, description="Never changes.")


class ObjectiveView(BaseModel):
    key: str
    version: int
    title: str
    description: str = ""
    obligations: list[dict[str, Any]]

    @classmethod
    def of(cls, objective: Objective) -> "ObjectiveView":
        body = body_of(objective)
        return cls.model_validate({**body, "key": objective.key, "version": objective.version})


async def _define(
    key: str,
    body: ObjectiveBody,
    revise: bool,
    request: Request,
    principal: Principal,
    uow: DiscoveryUow,
    deps: Deps,
) -> Response:
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    content = body.model_dump(mode="json", include={"title", "description", "obligations"})
    objective = await define(DefineObjective(key, content, principal.subject, revise), uow, deps)
    headers = {"Location": f"/v1/objectives/{key}/versions/{objective.version}"}
    view = ObjectiveView.of(objective)
    return await created(idem, uow, view, version=objective.version, headers=headers)


@routes.post("/objectives", status_code=201, response_model=ObjectiveView, responses=WRITE)
async def post_objective(
    body: NewObjective,
    request: Request,
    principal: ObjectiveWriter,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Define an objective: its version 1. Honours `Idempotency-Key`."""
    return await _define(body.key, body, False, request, principal, uow, deps)


@routes.put("/objectives/{key}", status_code=201, response_model=ObjectiveView, responses=WRITE)
async def put_objective(
    key: Key,
    body: ObjectiveBody,
    request: Request,
    principal: ObjectiveWriter,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Define the objective's next version (its first, if it has none); sessions already
    open keep theirs. Honours `Idempotency-Key`."""
    return await _define(key, body, True, request, principal, uow, deps)


@routes.get("/objectives", response_model=Page[ObjectiveView], responses=errors(BAD_CURSOR))
async def list_objectives(
    principal: ObjectiveReader, uow: Uow, pages: Pages
) -> Page[ObjectiveView]:
    """The tenant's objectives and the built-in `default`, by key, each at its newest."""
    after = shaped(pages, str)
    key = None if after is None else cast("str", after[0])
    rows = await uow.objectives.page(key, pages.limit)
    found = [objective_of(r.key, r.version, r.body) for r in rows]
    if key is None or DEFAULT.key > key:
        found.append(DEFAULT)
    found.sort(key=lambda o: o.key)
    page = paginate(found, pages.limit, lambda o: (o.key,))
    return Page[ObjectiveView](
        items=[ObjectiveView.of(o) for o in page.items], next_cursor=page.next_cursor
    )


@routes.get("/objectives/{key}", response_model=ObjectiveView, responses=errors(NOT_FOUND))
async def get_objective(
    key: Key, response: Response, principal: ObjectiveReader, uow: Uow
) -> ObjectiveView:
    """The objective's newest version; its ETag is the version."""
    return tagged(response, ObjectiveView.of(await objective_for(uow, key, None)))


@routes.get(
    "/objectives/{key}/versions/{version}",
    response_model=ObjectiveView,
    responses=errors(NOT_FOUND),
)
async def get_objective_version(
    key: Key, version: Version, response: Response, principal: ObjectiveReader, uow: Uow
) -> ObjectiveView:
    """One version of the objective."""
    return tagged(response, ObjectiveView.of(await objective_for(uow, key, version)))
