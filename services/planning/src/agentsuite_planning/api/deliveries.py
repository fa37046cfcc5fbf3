"""The public webhook: `POST /v1/hooks/{trigger_id}`. No bearer token: the Standard
Webhooks signature is the credential (listed in `PUBLIC`, which the route-table test reads,
so an open route is never silent). Every refusal is a problem+json 4xx."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

import json
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from agentsuite_contracts.planning import TriggerKind
from agentsuite_kit.edge import INVALID, TOO_LARGE, errors, read_body
from agentsuite_kit.http.problems import ProblemError
from agentsuite_kit.http.storable import refusal
from agentsuite_kit.storable import unstorable_json
from agentsuite_planning.api.edge import AppDeps, Bounded
from agentsuite_planning.domain.triggers import check_delivery_id
from agentsuite_planning.handlers.deliveries import (
    Delivery,
    Outcome,
    deliver,
    signing_secrets,
    verified,
)

PUBLIC: dict[str, str] = {
    "POST /v1/hooks/{trigger_id}": "Standard Webhooks: the signature is the credential",
}
"""planning's routes that need no bearer token, and why."""

routes = APIRouter(prefix="/v1", tags=["triggers"], route_class=Bounded)

HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


async def inputs_of(request: Request, limit: int) -> dict[str, Any]:
    """The body as a run's inputs: at most `limit` bytes, a JSON object, storable."""
    raw = await read_body(request, limit)
    flaw = unstorable_json(raw)
    if flaw is not None:
        raise refusal("body", flaw)
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProblemError(
            422, "The body is not JSON.", code="invalid_json", field="body"
        ) from None
    if not isinstance(value, dict):
        raise ProblemError(
            422,
            "The body must be a JSON object (the run's inputs).",
            code="not_an_object",
            field="body",
        )
    return value


def answer(outcome: Outcome, delivery_id: str) -> Response:
    if outcome.state == "accepted":
        content = {
            "status": "accepted",
            "delivery_id": delivery_id,
            "plan_version": outcome.version,
        }
        return JSONResponse(content, status_code=202)
    if outcome.state == "duplicate":
        return JSONResponse({"status": "duplicate", "delivery_id": delivery_id}, status_code=200)
    raise ProblemError(409, outcome.message, code=outcome.reason, delivery_id=delivery_id)


def _unknown(trigger_id: UUID) -> ProblemError:
    return ProblemError(404, f"No webhook {trigger_id}.", code="trigger_not_found")


@routes.post(
    "/hooks/{trigger_id}",
    status_code=202,
    responses=errors(
        (200, "The `webhook-id` was delivered before: nothing new starts."),
        (400, "A `webhook-*` header is missing or malformed."),
        (401, "The signature matches no current secret, or the timestamp is outside 5 minutes."),
        (404, "No such webhook (unknown or deleted)."),
        (
            409,
            "The trigger is disabled, the plan is stale or archived, the version is not "
            "approved or the label unset.",
        ),
        INVALID,
        TOO_LARGE,
    ),
)
async def post_hook(trigger_id: UUID, request: Request, deps: AppDeps) -> Response:
    """A delivery (Standard Webhooks): verified against the trigger's secret (and the one a
    rotation replaced, within its grace), its JSON object body the run's inputs. 202: a run
    starts; 200 `duplicate`: this `webhook-id` was accepted before, nothing starts."""
    raw = await read_body(request, deps.settings.trigger_max_body_bytes)
    async with deps.runtime.uow(None) as lookup:
        tenant = await lookup.trigger_routes.tenant_of(trigger_id)
    if tenant is None:
        raise _unknown(trigger_id)
    headers = {k: request.headers[k] for k in HEADERS if k in request.headers}
    missing = [k for k in HEADERS if k not in headers]
    if missing:
        raise ProblemError(
            400, f"Missing {', '.join(missing)}.", code="missing_webhook_headers", missing=missing
        )
    delivery_id = check_delivery_id(headers["webhook-id"], "webhook-id")
    async with deps.runtime.uow(tenant) as uow:
        trigger = await uow.triggers.get(trigger_id)
        if trigger is None or trigger.spec.kind is not TriggerKind.WEBHOOK:
            raise _unknown(trigger_id)
        secrets = await signing_secrets(uow, deps, trigger)
        if not verified(secrets, raw, headers):
            raise ProblemError(
                401,
                "The signature matches no signing secret of this webhook, or its timestamp "
                "is more than 5 minutes away.",
                code="invalid_signature",
            )
        if not trigger.spec.enabled:
            raise ProblemError(409, "The trigger is disabled.", code="trigger_disabled")
        inputs = await inputs_of(request, deps.settings.trigger_max_body_bytes)
        outcome = await deliver(Delivery(trigger, delivery_id, inputs), uow, deps)
        await uow.commit()
    return answer(outcome, delivery_id)
