"""Routes of the authz area: decisions, dry-run, and (included) roles and policies."""

# no `from __future__ import annotations`: FastAPI must resolve the dependencies the
# route signatures name

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from agentsuite_identity.api.common import AppDeps, Bounded, OrgUow, Uow, org_named
from agentsuite_identity.api.policies import PolicyPatch
from agentsuite_identity.domain.authz import Request as AuthzRequest
from agentsuite_identity.handlers import decisions as decision_handlers
from agentsuite_identity.handlers import policies as policy_handlers
from agentsuite_identity.handlers.policies import DryRun
from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import Pages, gate
from agentsuite_kit.http.pagination import Page, paginate, shaped
from agentsuite_kit.http.problems import ProblemError
from agentsuite_kit.http.storable import StrictBody

Attributes = dict[str, Any]


class SubjectIn(StrictBody):
    id: str = Field(min_length=1, max_length=200)
    kind: Literal["user", "api_key", "service", "platform"] = "user"
    attributes: Attributes = Field(default_factory=dict)


class ResourceIn(StrictBody):
    type: str = Field(default="", max_length=100)
    id: str | None = Field(default=None, max_length=200)
    org_id: UUID | None = None
    attributes: Attributes = Field(default_factory=dict)


class AuthorizeIn(StrictBody):
    subject: SubjectIn | None = None
    action: str = Field(min_length=1, max_length=100)
    resource: ResourceIn = Field(default_factory=ResourceIn)
    context: Attributes = Field(default_factory=dict)
    tenant_id: UUID | None = Field(
        default=None, description="Only for a tenantless service principal: whose tenant."
    )


class AuthorizeOut(BaseModel):
    allowed: bool
    reason: str
    explanation: dict[str, Any]
    decision_id: UUID | None


class ProposedPolicy(PolicyPatch):
    pass


class DryRunIn(StrictBody):
    op: Literal["create", "update", "delete"]
    policy_id: UUID | None = None
    policy: ProposedPolicy | None = None
    last: int = Field(default=1000, ge=1, le=10_000)


class DecisionOut(BaseModel):
    decision_id: UUID
    decided_at: datetime
    request: dict[str, Any]
    allowed: bool
    reason: str
    explanation: dict[str, Any]
    elapsed_ms: float


def _request(body: AuthorizeIn, principal: Principal) -> AuthzRequest:
    subject = body.subject or SubjectIn(id=principal.subject, kind=principal.kind.value)
    resource = body.resource
    return AuthzRequest(
        subject_id=subject.id,
        subject_kind=subject.kind,
        subject_attributes=subject.attributes,
        action=body.action,
        resource_type=resource.type,
        resource_id=resource.id,
        org_id=None if resource.org_id is None else str(resource.org_id),
        resource_attributes=resource.attributes,
        context=body.context,
    )


Checker = Annotated[Principal, gate("authorize:check", platform=True, org=True)]
PolicyWriter = Annotated[Principal, gate("policies:write")]
DecisionReader = Annotated[Principal, gate("decisions:read", org=True)]

routes = APIRouter(prefix="/v1", route_class=Bounded)


@routes.post("/authorize")
async def authorize(body: AuthorizeIn, principal: Checker, deps: AppDeps) -> AuthorizeOut:
    tenant = principal.tenant_id
    if tenant is None:
        if body.tenant_id is None:
            raise ProblemError(
                422, "tenant_id: required for a tenantless caller", field="tenant_id"
            )
        tenant = body.tenant_id
    elif body.tenant_id is not None and body.tenant_id != tenant:
        raise ProblemError(
            422, "tenant_id: only a tenantless caller may name one", field="tenant_id"
        )
    # an org-scoped token asks about its own org's resources only, not the tenant's
    org_named(principal, body.resource.org_id, "resource.org_id")
    request = _request(body, principal)
    # a query on the hot path, not a command: it opens a unit of work only when it must
    decision, decision_id = await decision_handlers.decide(deps, tenant, request)
    return AuthorizeOut(
        allowed=decision.allowed,
        reason=decision.reason,
        explanation=decision.explanation,
        decision_id=decision_id,
    )


@routes.post("/authorize/dry-run")
async def dry_run(
    body: DryRunIn, principal: PolicyWriter, uow: Uow, deps: AppDeps
) -> dict[str, Any]:
    if body.op == "create" and body.policy is None:
        raise ProblemError(422, "policy: required to create", field="policy")
    policy = None if body.policy is None else body.policy.model_dump(exclude_none=True)
    cmd = DryRun(op=body.op, policy_id=body.policy_id, policy=policy, last=body.last)
    return await policy_handlers.dry_run(cmd, uow, deps)


@routes.get("/decisions")
async def list_decisions(principal: DecisionReader, uow: OrgUow, page: Pages) -> Page[DecisionOut]:
    rows = await uow.decisions.page(
        shaped(page, datetime, UUID), page.limit, org_scope=principal.org_id
    )
    items = [DecisionOut(**decision_handlers.decision_view(r)) for r in rows]
    return paginate(items, page.limit, lambda d: (d.decided_at, d.decision_id))
