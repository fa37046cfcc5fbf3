"""Routes of organizations, their members and invitations (acceptance is public: the
invitation token is the credential)."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets
# each route closes over, which string annotations would hide

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response

from agentsuite_identity.api.common import (
    Made,
    create,
    in_scope,
    org_named,
    pages,
    problems,
    tagged,
    unit,
)
from agentsuite_identity.deps import Deps
from agentsuite_identity.domain import directory
from agentsuite_identity.handlers import invitations, orgs
from agentsuite_identity.handlers.invitations import (
    Accepted,
    AcceptInvitation,
    CreateInvitation,
    InvitationView,
    Issued,
)
from agentsuite_identity.handlers.orgs import CreateOrg, MemberView, OrgView, PutMember, UpdateOrg
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.auth import Principal
from agentsuite_kit.auth.fastapi import require
from agentsuite_kit.auth.principal import PrincipalKind
from agentsuite_kit.http.etag import Precondition, if_match
from agentsuite_kit.http.pagination import CursorParams, Page, paginate


def _user(principal: Principal) -> UUID | None:
    return UUID(principal.subject) if principal.kind is PrincipalKind.USER else None


def _reach(principal: Principal, org_id: UUID) -> None:
    in_scope(principal, org_id, f"org {org_id} not found")


def router(deps: Deps) -> APIRouter:  # noqa: C901, PLR0915  router closure: one nested route per endpoint; goes with module-level routers (issue 15 #2)
    routes = APIRouter(prefix="/v1", tags=["orgs"])
    # every route here confines an org-scoped token to its own org (`_reach`, `org_named`)
    reading = require("orgs:read", org=True)
    writing = require("orgs:write", org=True)
    inviting = require("users:invite", org=True)

    @routes.post("/orgs", status_code=201, response_model=OrgView)
    async def create_org(
        cmd: CreateOrg, request: Request, principal: Annotated[Principal, Depends(writing)]
    ) -> Response:
        """The caller (or `owner_id`, required for non-user callers) becomes its owner."""
        org_named(principal, None)  # a new org is outside any org's scope

        async def make(uow: IdentityUow) -> Made:
            view = await orgs.create_org(cmd, uow, acting_user=_user(principal))
            return view, view.version

        return await create(deps, request, principal, make)

    @routes.get("/orgs", response_model=Page[OrgView])
    async def list_orgs(
        principal: Annotated[Principal, Depends(reading)],
        page: Annotated[CursorParams, Depends(pages)],
    ) -> Page[OrgView]:
        async with deps.runtime.uow(principal.tenant) as uow:
            if principal.org_id is None:
                rows = await uow.orgs.page(page.after, page.limit)
            else:
                own = None if page.after else await uow.orgs.get(principal.org_id)
                rows = [] if own is None else [own]
        views = [OrgView.of(r) for r in rows]
        return paginate(views, page.limit, lambda v: (v.created_at, v.org_id))

    @routes.get("/orgs/{org_id}", response_model=OrgView)
    async def get_org(
        org_id: UUID, response: Response, principal: Annotated[Principal, Depends(reading)]
    ) -> OrgView:
        _reach(principal, org_id)
        async with unit(deps, principal) as uow:
            view = OrgView.of(await orgs.get_org(uow, org_id))
        return tagged(response, view)

    @routes.patch("/orgs/{org_id}", response_model=OrgView)
    async def update_org(
        org_id: UUID,
        cmd: UpdateOrg,
        response: Response,
        principal: Annotated[Principal, Depends(writing)],
        precondition: Annotated[Precondition, Depends(if_match())],
    ) -> OrgView:
        _reach(principal, org_id)
        async with unit(deps, principal) as uow:
            view = await orgs.update_org(cmd, uow, org_id=org_id, check=precondition.check)
        return tagged(response, view)

    @routes.delete("/orgs/{org_id}", status_code=204)
    async def delete_org(
        org_id: UUID, principal: Annotated[Principal, Depends(writing)]
    ) -> Response:
        """With its memberships and invitations."""
        _reach(principal, org_id)
        async with unit(deps, principal) as uow:
            await orgs.delete_org(uow, org_id=org_id)
        return Response(status_code=204)

    @routes.get("/orgs/{org_id}/members", response_model=Page[MemberView])
    async def list_members(
        org_id: UUID,
        principal: Annotated[Principal, Depends(reading)],
        page: Annotated[CursorParams, Depends(pages)],
    ) -> Page[MemberView]:
        _reach(principal, org_id)
        async with unit(deps, principal) as uow:
            await orgs.get_org(uow, org_id)
            rows = await uow.orgs.members(org_id, page.after, page.limit)
        views = [MemberView.of(r) for r in rows]
        return paginate(views, page.limit, lambda v: (v.created_at, v.user_id))

    @routes.put("/orgs/{org_id}/members/{user_id}", response_model=MemberView)
    async def put_member(
        org_id: UUID,
        user_id: UUID,
        cmd: PutMember,
        response: Response,
        principal: Annotated[Principal, Depends(writing)],
    ) -> MemberView:
        """Add the user with `role` (201), or change its role (200); the last owner stays."""
        _reach(principal, org_id)
        async with unit(deps, principal) as uow:
            view, added = await orgs.put_member(
                cmd,
                uow,
                org_id=org_id,
                user_id=user_id,
                granter_capabilities=principal.capabilities,
            )
        response.status_code = 201 if added else 200
        return view

    @routes.delete("/orgs/{org_id}/members/{user_id}", status_code=204)
    async def remove_member(
        org_id: UUID, user_id: UUID, principal: Annotated[Principal, Depends(writing)]
    ) -> Response:
        _reach(principal, org_id)
        async with unit(deps, principal) as uow:
            await orgs.remove_member(uow, org_id=org_id, user_id=user_id)
        return Response(status_code=204)

    @routes.post("/orgs/{org_id}/invitations", status_code=201, response_model=Issued)
    async def create_invitation(
        org_id: UUID,
        cmd: CreateInvitation,
        request: Request,
        principal: Annotated[Principal, Depends(inviting)],
    ) -> Response:
        """The token is in this answer only; identity keeps its hash."""
        _reach(principal, org_id)

        async def make(uow: IdentityUow) -> Made:
            issued = await invitations.create_invitation(
                cmd,
                uow,
                org_id=org_id,
                settings=deps.settings,
                created_by=_user(principal),
                granter_capabilities=principal.capabilities,
            )
            return issued, None

        return await create(deps, request, principal, make)

    @routes.get("/orgs/{org_id}/invitations", response_model=Page[InvitationView])
    async def list_invitations(
        org_id: UUID,
        principal: Annotated[Principal, Depends(inviting)],
        page: Annotated[CursorParams, Depends(pages)],
    ) -> Page[InvitationView]:
        _reach(principal, org_id)
        async with unit(deps, principal) as uow:
            await orgs.get_org(uow, org_id)
            rows = await uow.invitations.page(org_id, page.after, page.limit)
        views = [InvitationView.of(r) for r in rows]
        return paginate(views, page.limit, lambda v: (v.created_at, v.invitation_id))

    @routes.delete("/invitations/{invitation_id}", status_code=204)
    async def revoke_invitation(
        invitation_id: UUID, principal: Annotated[Principal, Depends(inviting)]
    ) -> Response:
        async with unit(deps, principal) as uow:
            await invitations.revoke_invitation(
                uow, invitation_id=invitation_id, org_scope=principal.org_id
            )
        return Response(status_code=204)

    @routes.post("/invitations/accept", response_model=Accepted)
    async def accept_invitation(cmd: AcceptInvitation) -> Accepted:
        """Public: the token is the credential. Every token that cannot be accepted gets
        the same 400, whatever the reason."""
        token = directory.parse_invitation_token(cmd.token)
        with problems():
            if token is None:
                await deps.passwords.waste(cmd.password)
                raise invitations.Refused()
            async with deps.runtime.uow(token.tenant_id) as uow:
                return await invitations.accept_invitation(
                    cmd, uow, token=token, passwords=deps.passwords
                )

    return routes
