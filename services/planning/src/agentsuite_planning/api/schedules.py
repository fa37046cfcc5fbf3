"""Schedules: create, list, read, edit, delete, and the slots each one dealt with."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from agentsuite_contracts.planning import CatchUp, Overlap, ScheduleSpec
from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import (
    BAD_CURSOR,
    INVALID,
    NOT_FOUND,
    TOO_LARGE,
    IfMatch,
    Pages,
    created,
    errors,
    found,
    gate,
    subject_id,
    tagged,
)
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import Page, paginate, shaped
from agentsuite_planning.api.edge import AppDeps, Bounded, Uow
from agentsuite_planning.domain.schedules import Schedule, Slot
from agentsuite_planning.handlers import schedules as handlers

routes = APIRouter(prefix="/v1", tags=["schedules"], route_class=Bounded)

PlansReader = Annotated[Principal, gate("plans:read")]
ScheduleWriter = Annotated[Principal, gate("schedules:write")]
INACTIVE = (409, "The tenant is suspended or deleted, or the key's first request left no answer.")
STALE = (412, "If-Match names a version that is no longer current.")
NO_MATCH = (428, "If-Match is required.")


class ScheduleView(BaseModel):
    id: UUID
    version: int = Field(description="The ETag's number; send it in If-Match to edit.")
    spec: ScheduleSpec
    next_run_at: datetime | None
    last_due_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: Schedule) -> "ScheduleView":
        return cls(
            id=s.id,
            version=s.version,
            spec=s.spec,
            next_run_at=s.next_due_at if s.spec.enabled else None,
            last_due_at=s.last_due_at,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class SlotView(BaseModel):
    due_at: datetime
    state: str
    reason: str | None
    plan_version: int | None
    updated_at: datetime

    @classmethod
    def of(cls, s: Slot) -> "SlotView":
        return cls(
            due_at=s.due_at,
            state=s.state.value,
            reason=s.reason,
            plan_version=s.plan_version,
            updated_at=s.updated_at,
        )


class SchedulePatch(BaseModel):
    """The spec's fields to change; a field left out stays; `null` clears it (switching
    from `cron` to `interval_seconds` sends `"cron": null`)."""

    model_config = ConfigDict(extra="forbid")

    plan_version: int | None = Field(default=None, ge=1)
    label: str | None = Field(default=None, max_length=40)
    cron: str | None = Field(default=None, max_length=120)
    timezone: str = Field(default="UTC", max_length=64)
    interval_seconds: int | None = Field(default=None, ge=1)
    at: datetime | None = None
    overlap: Overlap = Overlap.SKIP
    catch_up: CatchUp = CatchUp.LATEST
    inputs: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


def _location(s: Schedule) -> dict[str, str]:
    return {"Location": f"/v1/schedules/{s.id}"}


@routes.post(
    "/schedules",
    status_code=201,
    response_model=ScheduleView,
    responses=errors((400, "A malformed Idempotency-Key."), INACTIVE, INVALID, TOO_LARGE),
)
async def post_schedule(
    body: ScheduleSpec,
    request: Request,
    principal: ScheduleWriter,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="A retry with the same key and body gets the first response.",
        ),
    ] = None,
) -> Response:
    """Schedule a plan: exactly one of `cron` (with `timezone`), `interval_seconds` and
    `at`; exactly one of `plan_version` and `label`. Honours `Idempotency-Key`."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    command = handlers.CreateSchedule(body, subject_id(principal))
    made = await handlers.create_schedule(command, uow, deps)
    return await created(
        idem, uow, ScheduleView.of(made), version=made.version, headers=_location(made)
    )


@routes.get("/schedules", response_model=Page[ScheduleView], responses=errors(BAD_CURSOR))
async def list_schedules(principal: PlansReader, uow: Uow, pages: Pages) -> Page[ScheduleView]:
    """The tenant's schedules, oldest first, a page at a time (`next_cursor`)."""
    rows = await uow.schedules.page(shaped(pages, datetime, UUID), pages.limit)
    page = paginate(rows, pages.limit, lambda s: (s.created_at, s.id))
    return Page[ScheduleView](
        items=[ScheduleView.of(s) for s in page.items], next_cursor=page.next_cursor
    )


async def _get(uow: Any, schedule_id: UUID) -> Schedule:
    got: Schedule = found(
        await uow.schedules.get(schedule_id), f"no schedule {schedule_id}", "schedule_not_found"
    )
    return got


@routes.get("/schedules/{schedule_id}", response_model=ScheduleView, responses=errors(NOT_FOUND))
async def get_schedule(
    schedule_id: UUID, response: Response, principal: PlansReader, uow: Uow
) -> ScheduleView:
    """One schedule, with its version as the ETag."""
    return tagged(response, ScheduleView.of(await _get(uow, schedule_id)))


@routes.patch(
    "/schedules/{schedule_id}",
    response_model=ScheduleView,
    responses=errors(NOT_FOUND, INACTIVE, STALE, NO_MATCH, INVALID, TOO_LARGE),
)
async def patch_schedule(
    schedule_id: UUID,
    body: Annotated[SchedulePatch, Body()],
    response: Response,
    principal: ScheduleWriter,
    uow: Uow,
    deps: AppDeps,
    if_match: IfMatch,
) -> ScheduleView:
    """Change a schedule (`enabled: false` pauses it; resuming catches up per its
    policy; a new timing starts from now). Needs `If-Match`."""
    changes = body.model_dump(mode="json", include=body.model_fields_set)
    command = handlers.EditSchedule(schedule_id, changes, if_match.check)
    saved = await handlers.edit_schedule(command, uow, deps)
    await uow.commit()
    return tagged(response, ScheduleView.of(saved))


@routes.delete(
    "/schedules/{schedule_id}",
    status_code=204,
    responses=errors(NOT_FOUND, INACTIVE, STALE, NO_MATCH),
)
async def delete_schedule(
    schedule_id: UUID, principal: ScheduleWriter, uow: Uow, deps: AppDeps, if_match: IfMatch
) -> Response:
    """Remove a schedule and its slot history; a slot already fired still runs. Needs
    `If-Match`."""
    await handlers.delete_schedule(handlers.DeleteSchedule(schedule_id, if_match.check), uow, deps)
    await uow.commit()
    return Response(status_code=204)


@routes.get(
    "/schedules/{schedule_id}/slots",
    response_model=Page[SlotView],
    responses=errors(NOT_FOUND, BAD_CURSOR),
)
async def list_slots(
    schedule_id: UUID, principal: PlansReader, uow: Uow, pages: Pages
) -> Page[SlotView]:
    """The slots the schedule dealt with, newest first: fired, skipped, queued or refused
    (with the reason)."""
    await _get(uow, schedule_id)
    rows = await uow.schedules.slots_page(schedule_id, shaped(pages, datetime), pages.limit)
    page = paginate(rows, pages.limit, lambda s: (s.due_at,))
    return Page[SlotView](items=[SlotView.of(s) for s in page.items], next_cursor=page.next_cursor)
