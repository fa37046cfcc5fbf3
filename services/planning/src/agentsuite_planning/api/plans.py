"""Plans: create, list, read, edit (the next version), the enhancement log, one version,
the diff of two, validate, approve, archive."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from typing import Annotated, Any, Literal, cast
from uuid import UUID

from fastapi import Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_kit.edge import (
    BAD_CURSOR,
    INVALID,
    NOT_FOUND,
    TOO_LARGE,
    Pages,
    created,
    errors,
    expected_version,
    subject_id,
)
from agentsuite_kit.errors import Forbidden, Invalid
from agentsuite_kit.http.etag import etag
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import Int32, Page, paginate, shaped
from agentsuite_kit.http.problems import ProblemError
from agentsuite_planning.api.edge import (
    AppDeps,
    Approver,
    IdempotencyKey,
    IfMatchHeader,
    Reader,
    Uow,
    Writer,
)
from agentsuite_planning.api.routing import router
from agentsuite_planning.api.views import (
    ApprovedView,
    ApproveIn,
    ArchiveIn,
    PlanView,
    PlanWrite,
    ValidationView,
    VersionEntry,
    VersionView,
)
from agentsuite_planning.domain.diff import PlanDiff
from agentsuite_planning.handlers import approval, plans
from agentsuite_planning.handlers.checks import diff
from agentsuite_planning.handlers.plans import PlanBody, plan_for, version_for
from agentsuite_planning.uow import PlanningUow

routes = router("plans")

Version = Annotated[int, Path(ge=1, le=2_147_483_647, description="A version number.")]
WRITE = errors(
    (400, "A malformed Idempotency-Key or If-Match."),
    (409, "The plan is archived, or the tenant is suspended or deleted."),
    (412, "If-Match does not name the plan's current revision."),
    INVALID,
    TOO_LARGE,
)
READ_ONE = errors(NOT_FOUND)


def tagged(view: PlanView, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The plan with its revision as the ETag (what If-Match sends back)."""
    sent = {"ETag": etag(view.revision), **(headers or {})}
    return JSONResponse(view.model_dump(mode="json"), status_code=status, headers=sent)


async def plan_view(uow: PlanningUow, plan_id: UUID) -> PlanView:
    plan = await plan_for(uow, plan_id)
    return PlanView.of(plan, await uow.labels.of_plan(plan_id, 200))


def _after_id(pages: Any) -> UUID | None:
    after = shaped(pages, str)
    if after is None:
        return None
    try:
        return UUID(cast("str", after[0]))
    except ValueError:
        raise ProblemError(400, "The cursor is invalid.", code="invalid_cursor") from None


@routes.post("/plans", status_code=201, response_model=PlanView, responses=WRITE)
async def post_plan(
    body: PlanWrite,
    request: Request,
    principal: Writer,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Create a plan: its version 1, source manual. Honours `Idempotency-Key`."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    command = plans.CreatePlan(PlanBody(body.content(), body.reason), principal.subject)
    plan = await plans.create_plan(command, uow, deps)
    view = PlanView.of(plan)
    headers = {"Location": f"/v1/plans/{plan.id}"}
    return await created(idem, uow, view, version=plan.revision, headers=headers)


@routes.get("/plans", response_model=Page[PlanView], responses=errors(BAD_CURSOR))
async def list_plans(
    principal: Reader,
    uow: Uow,
    pages: Pages,
    status: Annotated[Literal["draft", "approved", "archived"] | None, Query()] = None,
    source_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[PlanView]:
    """The tenant's plans by id (creation order)."""
    rows = await uow.plans.page(_after_id(pages), pages.limit, status, source_id)
    page = paginate(rows, pages.limit, lambda p: (str(p.id),))
    return Page[PlanView](items=[PlanView.of(p) for p in page.items], next_cursor=page.next_cursor)


@routes.get("/plans/{plan_id}", response_model=PlanView, responses=READ_ONE)
async def get_plan(plan_id: UUID, principal: Reader, uow: Uow) -> Response:
    """The plan: head, approved version, stale, labels; its ETag is its revision."""
    return tagged(await plan_view(uow, plan_id))


@routes.put("/plans/{plan_id}", response_model=PlanView, responses=WRITE | READ_ONE)
async def put_plan(
    plan_id: UUID,
    body: PlanWrite,
    principal: Writer,
    uow: Uow,
    deps: AppDeps,
    if_match: IfMatchHeader = None,
) -> Response:
    """The plan's next version (head + 1) from the whole body, with `reason`. Honours
    `If-Match` (the plan's ETag)."""
    command = plans.EditPlan(
        plan_id,
        PlanBody(body.content(), body.reason),
        principal.subject,
        expected_version(if_match),
    )
    await plans.edit_plan(command, uow, deps)
    view = await plan_view(uow, plan_id)
    await uow.commit()
    return tagged(view)


@routes.get(
    "/plans/{plan_id}/versions",
    response_model=Page[VersionEntry],
    responses=errors(NOT_FOUND, BAD_CURSOR),
)
async def list_versions(
    plan_id: UUID, principal: Reader, uow: Uow, pages: Pages
) -> Page[VersionEntry]:
    """The enhancement log, newest first: version, author, reason, when."""
    await plan_for(uow, plan_id)
    after = shaped(pages, Int32)
    rows = await uow.versions.page(
        plan_id, None if after is None else cast("int", after[0]), pages.limit
    )
    page = paginate(rows, pages.limit, lambda v: (v.version,))
    return Page[VersionEntry](
        items=[VersionEntry.of(v) for v in page.items], next_cursor=page.next_cursor
    )


@routes.get("/plans/{plan_id}/versions/{version}", response_model=VersionView, responses=READ_ONE)
async def get_version(plan_id: UUID, version: Version, principal: Reader, uow: Uow) -> VersionView:
    """One version: its snapshot, last validation, approval and pinned snapshot."""
    return VersionView.of(await version_for(uow, plan_id, version))


@routes.get("/plans/{plan_id}/diff", response_model=PlanDiff, responses=READ_ONE)
async def get_diff(
    plan_id: UUID,
    principal: Reader,
    uow: Uow,
    from_: Annotated[int, Query(alias="from", ge=1, le=2_147_483_647)],
    to: Annotated[int, Query(ge=1, le=2_147_483_647)],
) -> PlanDiff:
    """The semantic diff from one version to another: steps added, removed, changed."""
    a = await version_for(uow, plan_id, from_)
    b = await version_for(uow, plan_id, to)
    return diff(PlanSnapshot.model_validate(a.body), PlanSnapshot.model_validate(b.body))


@routes.post(
    "/plans/{plan_id}/versions/{version}/validate",
    response_model=ValidationView,
    responses=WRITE | READ_ONE,
)
async def validate_version(
    plan_id: UUID, version: Version, principal: Writer, uow: Uow, deps: AppDeps
) -> ValidationView:
    """Validate a version and record the result on it (`planning.plan.validated`)."""
    checked = await approval.validate_version(approval.ValidateVersion(plan_id, version), uow, deps)
    await uow.commit()
    return ValidationView.of(checked)


@routes.post("/plans/validate", response_model=ValidationView, responses=errors(INVALID, TOO_LARGE))
async def validate_body(
    body: PlanWrite, principal: Reader, uow: Uow, deps: AppDeps
) -> ValidationView:
    """Validate a body without storing it."""
    try:
        checked = await approval.validate_body(body.content(), uow, deps)
    except ValidationError as exc:
        raise Invalid("invalid_plan", str(exc.errors()[0]["msg"])) from None
    return ValidationView.of(checked)


@routes.post(
    "/plans/{plan_id}/versions/{version}/approve",
    response_model=ApprovedView,
    responses=WRITE
    | READ_ONE
    | errors(
        (403, "The caller is not a user or key with an id."),
        (
            409,
            "`plan_invalid` (with `issues`), `over_budget`, `gaps_not_accepted`, "
            "`plan_archived`, or the tenant is suspended or deleted.",
        ),
    ),
)
async def approve_version(
    plan_id: UUID,
    version: Version,
    body: ApproveIn,
    principal: Approver,
    uow: Uow,
    deps: AppDeps,
) -> ApprovedView:
    """Validate the version, refuse errors (422 `plan_invalid` with `issues`) and a
    forecast over budget (422 `over_budget`), hold the discovery gate (409
    `gaps_not_accepted` without `accept_gaps`), pin every tool and agent version and
    emit `planning.plan.approved` with the pinned snapshot and forecast."""
    approver = subject_id(principal)
    if approver is None:
        raise Forbidden("subject_required", "an approval names a user or key")
    command = approval.Approve(plan_id, version, approver, body.comment, body.accept_gaps)
    await approval.approve(command, uow, deps)
    view = ApprovedView(
        plan=await plan_view(uow, plan_id),
        version=VersionView.of(await version_for(uow, plan_id, version)),
    )
    await uow.commit()
    return view


@routes.post("/plans/{plan_id}/archive", response_model=PlanView, responses=WRITE | READ_ONE)
async def archive_plan(
    plan_id: UUID,
    body: ArchiveIn,
    principal: Writer,
    uow: Uow,
    deps: AppDeps,
    if_match: IfMatchHeader = None,
) -> Response:
    """Retire the plan (`planning.plan.archived`); it can no longer run or be scheduled."""
    command = plans.ArchivePlan(plan_id, body.reason, expected_version(if_match))
    await plans.archive_plan(command, uow, deps)
    view = await plan_view(uow, plan_id)
    await uow.commit()
    return tagged(view)
