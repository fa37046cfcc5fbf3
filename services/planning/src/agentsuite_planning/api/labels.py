"""Labels: list a plan's, move one (the rollback), remove one, and every move of one."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from typing import Annotated, cast
from uuid import UUID

from fastapi import Path, Response
from fastapi.responses import JSONResponse

from agentsuite_kit.edge import BAD_CURSOR, INVALID, NOT_FOUND, Pages, errors, expected_version
from agentsuite_kit.http.etag import etag
from agentsuite_kit.http.pagination import Page, paginate, shaped
from agentsuite_kit.http.problems import ProblemError
from agentsuite_planning.api.edge import AppDeps, Approver, IfMatchHeader, Reader, Uow
from agentsuite_planning.api.routing import router
from agentsuite_planning.api.views import LabelIn, LabelView, MoveView
from agentsuite_planning.handlers import labels
from agentsuite_planning.handlers.plans import plan_for

routes = router("labels")

Name = Annotated[str, Path(min_length=1, max_length=40, description="The label's name.")]
WRITE = errors(
    (400, "A malformed If-Match."),
    (409, "The version is not approved, the plan is archived, or the tenant is inactive."),
    (412, "If-Match does not name the label's current revision."),
    NOT_FOUND,
    INVALID,
)


@routes.get(
    "/plans/{plan_id}/labels",
    response_model=Page[LabelView],
    responses=errors(NOT_FOUND, BAD_CURSOR),
)
async def list_labels(plan_id: UUID, principal: Reader, uow: Uow, pages: Pages) -> Page[LabelView]:
    """The plan's labels by name."""
    await plan_for(uow, plan_id)
    after = shaped(pages, str)
    rows = await uow.labels.page(
        plan_id, None if after is None else cast("str", after[0]), pages.limit
    )
    page = paginate(rows, pages.limit, lambda label: (label.name,))
    return Page[LabelView](
        items=[LabelView.of(label) for label in page.items], next_cursor=page.next_cursor
    )


@routes.put("/plans/{plan_id}/labels/{name}", response_model=LabelView, responses=WRITE)
async def put_label(
    plan_id: UUID,
    name: Name,
    body: LabelIn,
    principal: Approver,
    uow: Uow,
    deps: AppDeps,
    if_match: IfMatchHeader = None,
) -> Response:
    """Point the label at an approved version (moving it back is the rollback); the move
    is kept and emitted (`planning.label.moved`). Honours `If-Match` (the label's ETag)."""
    command = labels.MoveLabel(
        plan_id, name, body.version, principal.subject, body.reason, expected_version(if_match)
    )
    label = await labels.move_label(command, uow, deps)
    await uow.commit()
    view = LabelView.of(label)
    return JSONResponse(view.model_dump(mode="json"), headers={"ETag": etag(view.revision)})


@routes.delete("/plans/{plan_id}/labels/{name}", status_code=204, responses=WRITE)
async def delete_label(
    plan_id: UUID,
    name: Name,
    principal: Approver,
    uow: Uow,
    deps: AppDeps,
    if_match: IfMatchHeader = None,
) -> Response:
    """Remove the label; the move is kept and emitted with `version` null."""
    command = labels.RemoveLabel(plan_id, name, principal.subject, None, expected_version(if_match))
    await labels.remove_label(command, uow, deps)
    await uow.commit()
    return Response(status_code=204)


@routes.get(
    "/plans/{plan_id}/labels/{name}/moves",
    response_model=Page[MoveView],
    responses=errors(NOT_FOUND, BAD_CURSOR),
)
async def list_moves(
    plan_id: UUID, name: Name, principal: Reader, uow: Uow, pages: Pages
) -> Page[MoveView]:
    """Every move of the label, oldest first (a removed label's history stays)."""
    await plan_for(uow, plan_id)
    after = shaped(pages, str)
    start = None
    if after is not None:
        try:
            start = UUID(cast("str", after[0]))
        except ValueError:
            raise ProblemError(400, "The cursor is invalid.", code="invalid_cursor") from None
    rows = await uow.labels.moves(plan_id, name, start, pages.limit)
    page = paginate(rows, pages.limit, lambda m: (str(m.id),))
    return Page[MoveView](items=[MoveView.of(m) for m in page.items], next_cursor=page.next_cursor)
