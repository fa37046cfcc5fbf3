"""Routes of ABAC policies (included by api/authz.py)."""

# no `from __future__ import annotations`: FastAPI must resolve the dependencies the
# route signatures name

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from agentsuite_identity.api.common import AppDeps, Bounded, Uow
from agentsuite_identity.api.roles import may_grant
from agentsuite_identity.handlers import policies as handlers
from agentsuite_identity.handlers.policies import ChangePolicy, DeletePolicy, NewPolicy
from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import IfMatch, Made, Pages, create, found, gate, tagged
from agentsuite_kit.http.pagination import Page, paginate, shaped
from agentsuite_kit.http.storable import StrictBody

Patterns = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=300)]], Field(max_length=200)
]


class PolicyIn(StrictBody):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)
    effect: Literal["allow", "deny"]
    actions: Annotated[Patterns, Field(min_length=1)]
    resource_type: str = Field(default="*", min_length=1, max_length=100)
    resources: Patterns = Field(default_factory=list)
    condition: dict[str, Any] = Field(default_factory=dict)
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    enabled: bool = True


class PolicyPatch(StrictBody):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    effect: Literal["allow", "deny"] | None = None
    actions: Annotated[Patterns, Field(min_length=1)] | None = None
    resource_type: str | None = Field(default=None, min_length=1, max_length=100)
    resources: Patterns | None = None
    condition: dict[str, Any] | None = None
    priority: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    enabled: bool | None = None


class PolicyOut(BaseModel):
    policy_id: UUID
    name: str
    description: str
    effect: str
    actions: list[str]
    resource_type: str
    resources: list[str]
    condition: dict[str, Any]
    priority: int
    enabled: bool
    created_at: datetime
    updated_at: datetime
    version: int


def _may_allow(principal: Principal, effect: str | None, actions: list[str] | None) -> None:
    # a deny only takes away; an allow hands out its actions like a role would
    if effect != "deny" and actions is not None:
        may_grant(principal, actions, "actions")


Reader = Annotated[Principal, gate("policies:read")]
Writer = Annotated[Principal, gate("policies:write")]

routes = APIRouter(prefix="/v1", route_class=Bounded)


@routes.post("/policies", status_code=201, response_model=PolicyOut)
async def create_policy(
    body: PolicyIn, request: Request, principal: Writer, uow: Uow, deps: AppDeps
) -> Response:
    async def make() -> Made:
        policy = await handlers.create_policy(NewPolicy(body.model_dump()), uow, deps)
        _may_allow(principal, body.effect, body.actions)
        return policy, policy["version"]

    return await create(request, uow, principal, make)


@routes.get("/policies")
async def list_policies(principal: Reader, uow: Uow, page: Pages) -> Page[PolicyOut]:
    rows = await uow.policies.page(shaped(page, str, UUID), page.limit)
    items = [PolicyOut(**handlers.policy_view(r)) for r in rows]
    return paginate(items, page.limit, lambda p: (p.name, p.policy_id))


@routes.get("/policies/{policy_id}")
async def get_policy(policy_id: UUID, response: Response, principal: Reader, uow: Uow) -> PolicyOut:
    row = found(await uow.policies.get(policy_id), f"policy {policy_id} not found")
    return tagged(response, PolicyOut(**handlers.policy_view(row)))


@routes.patch("/policies/{policy_id}")
async def patch_policy(
    policy_id: UUID,
    body: PolicyPatch,
    response: Response,
    principal: Writer,
    precondition: IfMatch,
    uow: Uow,
    deps: AppDeps,
) -> PolicyOut:
    cmd = ChangePolicy(policy_id, body.model_dump(exclude_none=True), precondition)
    policy = await handlers.update_policy(cmd, uow, deps)
    _may_allow(principal, policy["effect"], policy["actions"])
    await uow.commit()
    return tagged(response, PolicyOut(**policy))


@routes.delete("/policies/{policy_id}", status_code=204)
async def delete_policy(policy_id: UUID, principal: Writer, uow: Uow, deps: AppDeps) -> Response:
    await handlers.delete_policy(DeletePolicy(policy_id), uow, deps)
    await uow.commit()
    return Response(status_code=204)
