"""Routes of organizations, their members and invitations (acceptance is public: the
invitation token is the credential)."""

# no `from __future__ import annotations`: FastAPI must resolve the dependencies the
# route signatures name

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response

from agentsuite_identity.api.common import AppDeps, Bounded, OrgUow, in_scope, org_named
from agentsuite_identity.domain import directory
from agentsuite_identity.handlers import invitations, orgs
from agentsuite_identity.handlers.invitations import (
    Accept,
    Accepted,
    AcceptInvitation,
    CreateInvitation,
    InvitationView,
    Invite,
    Issued,
    RevokeInvitation,
)
from agentsuite_identity.handlers.orgs import (
    ChangeOrg,
    CreateOrg,
    DeleteOrg,
    MemberView,
    NewOrg,
    OrgView,
    PutMember,
    RemoveMember,
    SetMember,
    UpdateOrg,
)
from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import IfMatch, Made, Pages, create, gate, tagged, user_id_of
from agentsuite_kit.http.pagination import Page, paginate, shaped
from agentsuite_kit.http.problems import domain_problem

# every route here confines an org-scoped token to its own org (`_reach`, `org_named`)
Reader = Annotated[Principal, gate("orgs:read", org=True)]
Writer = Annotated[Principal, gate("orgs:write", org=True)]
Inviter = Annotated[Principal, gate("users:invite", org=True)]

routes = APIRouter(prefix="/v1", tags=["orgs"], route_class=Bounded)


def _reach(principal: Principal, org_id: UUID) -> None:
    in_scope(principal, org_id, f"org {org_id} not found")


@routes.post("/orgs", status_code=201, response_model=OrgView)
async def create_org(
    body: CreateOrg, request: Request, principal: Writer, uow: OrgUow, deps: AppDeps
) -> Response:
    """The caller (or `owner_id`, required for non-user callers) becomes its owner."""
    org_named(principal, None)  # a new org is outside any org's scope

    async def make() -> Made:
        view = await orgs.create_org(NewOrg(body, user_id_of(principal)), uow, deps)
        return view, view.version

    return await create(request, uow, principal, make)


@routes.get("/orgs", response_model=Page[OrgView])
async def list_orgs(principal: Reader, uow: OrgUow, page: Pages) -> Page[OrgView]:
    after = shaped(page, datetime, UUID)
    if principal.org_id is None:
        rows = await uow.orgs.page(after, page.limit)
    else:
        own = None if after else await uow.orgs.get(principal.org_id)
        rows = [] if own is None else [own]
    views = [OrgView.of(r) for r in rows]
    return paginate(views, page.limit, lambda v: (v.created_at, v.org_id))


@routes.get("/orgs/{org_id}", response_model=OrgView)
async def get_org(org_id: UUID, response: Response, principal: Reader, uow: OrgUow) -> OrgView:
    _reach(principal, org_id)
    view = OrgView.of(await orgs.get_org(uow, org_id))
    return tagged(response, view)


@routes.patch("/orgs/{org_id}", response_model=OrgView)
async def update_org(
    org_id: UUID,
    body: UpdateOrg,
    response: Response,
    principal: Writer,
    precondition: IfMatch,
    uow: OrgUow,
    deps: AppDeps,
) -> OrgView:
    _reach(principal, org_id)
    view = await orgs.update_org(ChangeOrg(org_id, body, precondition.check), uow, deps)
    return tagged(response, view)


@routes.delete("/orgs/{org_id}", status_code=204)
async def delete_org(org_id: UUID, principal: Writer, uow: OrgUow, deps: AppDeps) -> Response:
    """With its memberships and invitations."""
    _reach(principal, org_id)
    await orgs.delete_org(DeleteOrg(org_id), uow, deps)
    return Response(status_code=204)


@routes.get("/orgs/{org_id}/members", response_model=Page[MemberView])
async def list_members(
    org_id: UUID, principal: Reader, uow: OrgUow, page: Pages
) -> Page[MemberView]:
    _reach(principal, org_id)
    await orgs.get_org(uow, org_id)
    rows = await uow.orgs.members(org_id, shaped(page, datetime, UUID), page.limit)
    views = [MemberView.of(r) for r in rows]
    return paginate(views, page.limit, lambda v: (v.created_at, v.user_id))


@routes.put("/orgs/{org_id}/members/{user_id}", response_model=MemberView)
async def put_member(
    org_id: UUID,
    user_id: UUID,
    body: PutMember,
    response: Response,
    principal: Writer,
    uow: OrgUow,
    deps: AppDeps,
) -> MemberView:
    """Add the user with `role` (201), or change its role (200); the last owner stays."""
    _reach(principal, org_id)
    cmd = SetMember(org_id, user_id, body.role, granter_capabilities=principal.capabilities)
    view, added = await orgs.put_member(cmd, uow, deps)
    response.status_code = 201 if added else 200
    return view


@routes.delete("/orgs/{org_id}/members/{user_id}", status_code=204)
async def remove_member(
    org_id: UUID, user_id: UUID, principal: Writer, uow: OrgUow, deps: AppDeps
) -> Response:
    _reach(principal, org_id)
    await orgs.remove_member(RemoveMember(org_id, user_id), uow, deps)
    return Response(status_code=204)


@routes.post("/orgs/{org_id}/invitations", status_code=201, response_model=Issued)
async def create_invitation(
    org_id: UUID,
    body: CreateInvitation,
    request: Request,
    principal: Inviter,
    uow: OrgUow,
    deps: AppDeps,
) -> Response:
    """The token is in this answer only; identity keeps its hash."""
    _reach(principal, org_id)

    async def make() -> Made:
        cmd = Invite(
            org_id,
            body,
            created_by=user_id_of(principal),
            granter_capabilities=principal.capabilities,
        )
        return await invitations.create_invitation(cmd, uow, deps), None

    return await create(request, uow, principal, make)


@routes.get("/orgs/{org_id}/invitations", response_model=Page[InvitationView])
async def list_invitations(
    org_id: UUID, principal: Inviter, uow: OrgUow, page: Pages
) -> Page[InvitationView]:
    _reach(principal, org_id)
    await orgs.get_org(uow, org_id)
    rows = await uow.invitations.page(org_id, shaped(page, datetime, UUID), page.limit)
    views = [InvitationView.of(r) for r in rows]
    return paginate(views, page.limit, lambda v: (v.created_at, v.invitation_id))


@routes.delete("/invitations/{invitation_id}", status_code=204)
async def revoke_invitation(
    invitation_id: UUID, principal: Inviter, uow: OrgUow, deps: AppDeps
) -> Response:
    cmd = RevokeInvitation(invitation_id, org_scope=principal.org_id)
    await invitations.revoke_invitation(cmd, uow, deps)
    return Response(status_code=204)


@routes.post("/invitations/accept", response_model=Accepted)
async def accept_invitation(body: AcceptInvitation, deps: AppDeps) -> Accepted:
    """Public: the token is the credential. Every token that cannot be accepted gets
    the same 400, whatever the reason: a bad credential, not a field to fix (422)."""
    token = directory.parse_invitation_token(body.token)
    try:
        if token is None:
            await deps.passwords.waste(body.password)
            raise invitations.Refused()
        async with deps.runtime.uow(token.tenant_id) as uow:
            return await invitations.accept_invitation(Accept(body, token), uow, deps)
    except invitations.Refused as exc:
        raise domain_problem(exc, status=400) from None
