"""Routes of the users area."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets
# each route closes over, which string annotations would hide

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from agentsuite_identity.api.common import (
    Made,
    create,
    pages,
    tagged,
    unit,
)
from agentsuite_identity.deps import Deps
from agentsuite_identity.handlers import users as handlers
from agentsuite_identity.handlers.users import (
    ChangePassword,
    CreateUser,
    Deactivate,
    UpdateUser,
    UserView,
)
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.auth import Principal
from agentsuite_kit.auth.fastapi import current_principal, require
from agentsuite_kit.auth.principal import PrincipalKind
from agentsuite_kit.http.etag import Precondition, if_match
from agentsuite_kit.http.pagination import CursorParams, Page, paginate
from agentsuite_kit.http.problems import ProblemError


def _me(principal: Principal) -> UUID:
    if principal.kind is not PrincipalKind.USER:
        raise ProblemError(403, "Only a user has a /me.", code="user_required")
    return UUID(principal.subject)


def router(deps: Deps) -> APIRouter:
    routes = APIRouter(prefix="/v1", tags=["users"])
    reading = require("users:read")
    writing = require("users:write")
    # the token's own subject: narrower than any org, so an org-scoped token reads it too
    itself = require(org=True)

    @routes.post("/users", status_code=201, response_model=UserView)
    async def create_user(
        cmd: CreateUser, request: Request, principal: Annotated[Principal, Depends(writing)]
    ) -> Response:

        async def make(uow: IdentityUow) -> Made:
            view = await handlers.create_user(cmd, uow, passwords=deps.passwords)
            return view, view.version

        return await create(deps, request, principal, make)

    @routes.get("/users", response_model=Page[UserView])
    async def list_users(
        principal: Annotated[Principal, Depends(reading)],
        page: Annotated[CursorParams, Depends(pages)],
        status: Annotated[Literal["invited", "active", "deactivated"] | None, Query()] = None,
    ) -> Page[UserView]:
        async with deps.runtime.uow(principal.tenant) as uow:
            rows = await uow.users.page(page.after, page.limit, status)
        views = [UserView.of(r) for r in rows]
        return paginate(views, page.limit, lambda v: (v.created_at, v.user_id))

    # before /users/{user_id}, which would otherwise read "me" as a (malformed) id
    @routes.get("/users/me", response_model=UserView)
    async def get_me(
        response: Response, principal: Annotated[Principal, Depends(itself)]
    ) -> UserView:
        async with unit(deps, principal) as uow:
            view = UserView.of(await handlers.get_user(uow, _me(principal)))
        return tagged(response, view)

    @routes.post("/users/me/password", status_code=204)
    async def change_password(
        cmd: ChangePassword, principal: Annotated[Principal, Depends(current_principal)]
    ) -> Response:
        """Needs the current password; revokes the user's refresh tokens (sessions)."""
        user_id = _me(principal)
        async with unit(deps, principal) as uow:
            await handlers.change_password(cmd, uow, user_id=user_id, passwords=deps.passwords)
        return Response(status_code=204)

    @routes.get("/users/{user_id}", response_model=UserView)
    async def get_user(
        user_id: UUID, response: Response, principal: Annotated[Principal, Depends(reading)]
    ) -> UserView:
        async with unit(deps, principal) as uow:
            view = UserView.of(await handlers.get_user(uow, user_id))
        return tagged(response, view)

    @routes.patch("/users/{user_id}", response_model=UserView)
    async def update_user(
        user_id: UUID,
        cmd: UpdateUser,
        response: Response,
        principal: Annotated[Principal, Depends(writing)],
        precondition: Annotated[Precondition, Depends(if_match())],
    ) -> UserView:
        async with unit(deps, principal) as uow:
            view = await handlers.update_user(cmd, uow, user_id=user_id, check=precondition.check)
        return tagged(response, view)

    @routes.post("/users/{user_id}/deactivate", response_model=UserView)
    async def deactivate_user(
        user_id: UUID, cmd: Deactivate, principal: Annotated[Principal, Depends(writing)]
    ) -> UserView:
        """The user's tokens stop at identity at once; its refresh tokens are revoked."""
        async with unit(deps, principal) as uow:
            return await handlers.deactivate_user(cmd, uow, user_id=user_id)

    return routes
