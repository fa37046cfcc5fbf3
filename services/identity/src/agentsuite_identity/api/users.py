"""Routes of the users area."""

# no `from __future__ import annotations`: FastAPI must resolve the dependencies the
# route signatures name

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from agentsuite_identity.api.common import AppDeps, Bounded, OrgUow, Uow
from agentsuite_identity.handlers import users as handlers
from agentsuite_identity.handlers.users import (
    ChangePassword,
    ChangeUser,
    CreateUser,
    Deactivate,
    DeactivateUser,
    SetPassword,
    UpdateUser,
    UserView,
)
from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import (
    CurrentPrincipal,
    IfMatch,
    Made,
    Pages,
    create,
    gate,
    tagged,
    user_required,
)
from agentsuite_kit.http.pagination import Page, paginate, shaped

Reader = Annotated[Principal, gate("users:read")]
Writer = Annotated[Principal, gate("users:write")]
# the token's own subject: narrower than any org, so an org-scoped token reads it too
Itself = Annotated[Principal, gate(org=True)]

routes = APIRouter(prefix="/v1", tags=["users"], route_class=Bounded)


def _me(principal: Principal) -> UUID:
    return user_required(principal, "Only a user has a /me.", "user_required")


@routes.post("/users", status_code=201, response_model=UserView)
async def create_user(
    cmd: CreateUser, request: Request, principal: Writer, uow: Uow, deps: AppDeps
) -> Response:
    async def make() -> Made:
        view = await handlers.create_user(cmd, uow, deps)
        return view, view.version

    return await create(request, uow, principal, make)


@routes.get("/users", response_model=Page[UserView])
async def list_users(
    principal: Reader,
    uow: Uow,
    page: Pages,
    status: Annotated[Literal["invited", "active", "deactivated"] | None, Query()] = None,
) -> Page[UserView]:
    rows = await uow.users.page(shaped(page, datetime, UUID), page.limit, status)
    views = [UserView.of(r) for r in rows]
    return paginate(views, page.limit, lambda v: (v.created_at, v.user_id))


# before /users/{user_id}, which would otherwise read "me" as a (malformed) id
@routes.get("/users/me", response_model=UserView)
async def get_me(response: Response, principal: Itself, uow: OrgUow) -> UserView:
    view = UserView.of(await handlers.get_user(uow, _me(principal)))
    return tagged(response, view)


@routes.post("/users/me/password", status_code=204)
async def change_password(
    body: ChangePassword, principal: CurrentPrincipal, uow: Uow, deps: AppDeps
) -> Response:
    """Needs the current password; revokes the user's refresh tokens (sessions)."""
    cmd = SetPassword(user_id=_me(principal), current=body.current, new=body.new)
    await handlers.change_password(cmd, uow, deps)
    return Response(status_code=204)


@routes.get("/users/{user_id}", response_model=UserView)
async def get_user(user_id: UUID, response: Response, principal: Reader, uow: Uow) -> UserView:
    view = UserView.of(await handlers.get_user(uow, user_id))
    return tagged(response, view)


@routes.patch("/users/{user_id}", response_model=UserView)
async def update_user(
    user_id: UUID,
    body: UpdateUser,
    response: Response,
    principal: Writer,
    precondition: IfMatch,
    uow: Uow,
    deps: AppDeps,
) -> UserView:
    cmd = ChangeUser(user_id=user_id, changes=body, check=precondition.check)
    return tagged(response, await handlers.update_user(cmd, uow, deps))


@routes.post("/users/{user_id}/deactivate", response_model=UserView)
async def deactivate_user(
    user_id: UUID, body: Deactivate, principal: Writer, uow: Uow, deps: AppDeps
) -> UserView:
    """The user's tokens stop at identity at once; its refresh tokens are revoked."""
    return await handlers.deactivate_user(DeactivateUser(user_id, body.reason), uow, deps)
