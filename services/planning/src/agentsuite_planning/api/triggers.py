"""Triggers: publish a plan version (or a label) as a webhook or an API endpoint; read,
change, delete one; rotate a webhook's signing secret; start a run through an API one."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.planning import TriggerKind, TriggerSpec
from agentsuite_kit.edge import (
    BAD_CURSOR,
    INVALID,
    NOT_FOUND,
    TOO_LARGE,
    Pages,
    errors,
    expected_version,
    found,
    tagged,
)
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import Page, paginate, shaped
from agentsuite_kit.http.problems import ProblemError
from agentsuite_planning.api.deliveries import answer, inputs_of
from agentsuite_planning.api.edge import (
    AppDeps,
    Bounded,
    PlanReader,
    RunStarter,
    TriggerWriter,
    Uow,
)
from agentsuite_planning.domain.triggers import Trigger, check_delivery_id
from agentsuite_planning.handlers.deliveries import Delivery, deliver
from agentsuite_planning.handlers.triggers import (
    CreateTrigger,
    UpdateTrigger,
    create_trigger,
    delete_trigger,
    rotate_secret,
    update_trigger,
)

routes = APIRouter(prefix="/v1", tags=["triggers"], route_class=Bounded)

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The ETag read: the write applies only on top of it."),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Creates: a retry with the same key gets the first answer (without the "
        "secret). Runs: the delivery id, so a retry starts nothing new.",
    ),
]
WRITE = errors(
    (409, "The tenant is suspended or deleted, or sealing keys are not configured."),
    (412, "The trigger changed since the If-Match ETag was read."),
    NOT_FOUND,
    INVALID,
    TOO_LARGE,
)


class TriggerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_id: UUID
    plan_version: int | None = Field(default=None, ge=1, le=2_147_483_647)
    label: str | None = Field(default=None, max_length=40)
    kind: TriggerKind
    enabled: bool = True

    def spec(self) -> TriggerSpec:
        return TriggerSpec.model_validate(self.model_dump())


class TriggerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_version: int | None = Field(default=None, ge=1, le=2_147_483_647)
    label: str | None = Field(default=None, max_length=40)
    enabled: bool | None = None


class TriggerView(BaseModel):
    id: UUID
    version: int = Field(description="The trigger's revision (its ETag).")
    plan_id: UUID
    plan_version: int | None
    label: str | None
    kind: TriggerKind
    enabled: bool
    url: str = Field(description="Where deliveries go.")
    previous_secret_until: datetime | None = Field(
        default=None, description="Until when the secret a rotation replaced is accepted."
    )
    secret: str | None = Field(
        default=None, description="The signing secret: shown on create and on rotate only."
    )

    @classmethod
    def of(cls, trigger: Trigger, secret: str | None = None) -> "TriggerView":
        spec = trigger.spec
        url = (
            f"/v1/hooks/{trigger.id}"
            if spec.kind is TriggerKind.WEBHOOK
            else f"/v1/triggers/{trigger.id}/runs"
        )
        return cls(
            id=trigger.id,
            version=trigger.revision,
            plan_id=spec.plan_id,
            plan_version=spec.plan_version,
            label=spec.label,
            kind=spec.kind,
            enabled=spec.enabled,
            url=url,
            previous_secret_until=trigger.previous_until,
            secret=secret,
        )


@routes.post("/triggers", status_code=201, response_model=TriggerView, responses=WRITE)
async def post_trigger(
    body: TriggerBody,
    request: Request,
    principal: TriggerWriter,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Publish a plan: a webhook's answer carries its signing secret, this once."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    made = await create_trigger(CreateTrigger(body.spec(), principal.subject), uow, deps)
    view = TriggerView.of(made.trigger)
    headers = {"Location": f"/v1/triggers/{made.trigger.id}", "ETag": f'"{view.version}"'}
    # the stored replay leaves the secret out: an idempotency row is not sealed
    await idem.save(JSONResponse(view.model_dump(mode="json"), 201, headers=headers))
    await uow.commit()
    shown = TriggerView.of(made.trigger, made.secret)
    return JSONResponse(shown.model_dump(mode="json"), 201, headers=headers)


@routes.get("/triggers", response_model=Page[TriggerView], responses=errors(BAD_CURSOR))
async def list_triggers(principal: PlanReader, uow: Uow, pages: Pages) -> Page[TriggerView]:
    """The tenant's triggers, oldest first."""
    after = shaped(pages, str)
    start = None if after is None else _cursor_id(after[0])
    rows = await uow.triggers.page(start, pages.limit)
    page = paginate(rows, pages.limit, lambda t: (str(t.id),))
    return Page[TriggerView](
        items=[TriggerView.of(t) for t in page.items], next_cursor=page.next_cursor
    )


def _cursor_id(value: Any) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise ProblemError(
            400, "A cursor this service did not issue.", code="invalid_cursor"
        ) from None


@routes.get("/triggers/{trigger_id}", response_model=TriggerView, responses=errors(NOT_FOUND))
async def get_trigger(
    trigger_id: UUID, response: Response, principal: PlanReader, uow: Uow
) -> TriggerView:
    """One trigger (never its secret); its ETag is its revision."""
    trigger = found(
        await uow.triggers.get(trigger_id), f"no trigger {trigger_id}", "trigger_not_found"
    )
    return tagged(response, TriggerView.of(trigger))


@routes.patch("/triggers/{trigger_id}", response_model=TriggerView, responses=WRITE)
async def patch_trigger(
    trigger_id: UUID,
    body: TriggerPatch,
    response: Response,
    principal: TriggerWriter,
    uow: Uow,
    deps: AppDeps,
    if_match: IfMatch = None,
) -> TriggerView:
    """Retarget (a version or a label), enable or disable a trigger. Honours If-Match."""
    current = found(
        await uow.triggers.get(trigger_id), f"no trigger {trigger_id}", "trigger_not_found"
    )
    given = body.model_dump(exclude_unset=True)
    spec = current.spec.model_dump()
    if "plan_version" in given or "label" in given:
        # a new target replaces the old one whole: naming a label unpins the version
        spec["plan_version"], spec["label"] = given.get("plan_version"), given.get("label")
    if given.get("enabled") is not None:
        spec["enabled"] = given["enabled"]
    command = UpdateTrigger(
        trigger_id, TriggerSpec.model_validate(spec), expected_version(if_match)
    )
    after = await update_trigger(command, uow, deps)
    await uow.commit()
    return tagged(response, TriggerView.of(after))


@routes.delete("/triggers/{trigger_id}", status_code=204, response_class=Response, responses=WRITE)
async def remove_trigger(
    trigger_id: UUID, principal: TriggerWriter, uow: Uow, deps: AppDeps, if_match: IfMatch = None
) -> Response:
    """Delete a trigger: its URL answers 404 from now on. Honours If-Match."""
    await delete_trigger(trigger_id, expected_version(if_match), uow, deps)
    await uow.commit()
    return Response(status_code=204)


@routes.post("/triggers/{trigger_id}/rotate", response_model=TriggerView, responses=WRITE)
async def rotate(
    trigger_id: UUID, response: Response, principal: TriggerWriter, uow: Uow, deps: AppDeps
) -> TriggerView:
    """A new signing secret, shown this once; the old one is accepted for the grace period
    (`previous_secret_until`)."""
    made = await rotate_secret(trigger_id, uow, deps)
    await uow.commit()
    return tagged(response, TriggerView.of(made.trigger, made.secret))


@routes.post(
    "/triggers/{trigger_id}/runs",
    status_code=202,
    responses=errors(
        (200, "The Idempotency-Key was delivered before: nothing new starts."),
        (
            409,
            "The plan is stale or archived, the version is not approved, the label is "
            "unset, or the trigger is disabled.",
        ),
        NOT_FOUND,
        INVALID,
        TOO_LARGE,
    ),
)
async def post_run(
    trigger_id: UUID,
    request: Request,
    principal: RunStarter,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Start one run of an API trigger's plan with the JSON object body as its inputs; the
    Idempotency-Key is the delivery id (a retry with it starts nothing new)."""
    trigger = await uow.triggers.get(trigger_id)
    if trigger is None or trigger.spec.kind is not TriggerKind.API:
        raise ProblemError(404, f"no API trigger {trigger_id}", code="trigger_not_found")
    if not trigger.spec.enabled:
        raise ProblemError(409, "The trigger is disabled.", code="trigger_disabled")
    inputs = await inputs_of(request, deps.settings.trigger_max_body_bytes)
    delivery_id = (
        str(uuid7())
        if idempotency_key is None
        else check_delivery_id(idempotency_key, "Idempotency-Key")
    )
    outcome = await deliver(Delivery(trigger, delivery_id, inputs), uow, deps)
    await uow.commit()
    return answer(outcome, delivery_id)
