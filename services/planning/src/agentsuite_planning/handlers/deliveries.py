"""A delivery to a trigger: verified (webhooks: Standard Webhooks signatures), resolved to a
plan version, recorded once per (trigger, delivery id) with `planning.trigger.fired` in the
same transaction, so repeats, two instances and restarts start one run per delivery."""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from agentsuite_contracts.planning import TriggerFired
from agentsuite_kit.sealing import SealError
from agentsuite_kit.tenants import may_write
from agentsuite_planning.deps import Deps
from agentsuite_planning.domain.triggers import (
    REFUSAL_TEXT,
    Refusal,
    Trigger,
    previous_accepted,
    resolve,
)
from agentsuite_planning.uow import PlanningUow


@dataclass(frozen=True, slots=True)
class Delivery:
    trigger: Trigger
    delivery_id: str
    inputs: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    """`accepted` (a run starts), `duplicate` (seen before: nothing starts) or `refused`
    (recorded; `reason` is a `Refusal` or `tenant_inactive`, `message` says why)."""

    state: str
    version: int | None = None
    reason: str | None = None
    message: str | None = None


async def signing_secrets(uow: PlanningUow, deps: Deps, trigger: Trigger) -> list[str]:
    """The secrets a signature may be made with now: the current one, and the one a
    rotation replaced while its grace lasts. A secret that does not open is left out (the
    delivery is then refused as unsigned, never a 500)."""
    row = await uow.triggers.sealed(trigger.id)
    if row is None:
        return []
    found: list[tuple[bytes | None, str | None]] = [(row["secret"], row["secret_key_id"])]
    if previous_accepted(row["previous_until"], deps.clock()):
        found.append((row["previous_secret"], row["previous_key_id"]))
    opened: list[str] = []
    for blob, key_id in found:
        if blob is None or key_id is None:
            continue
        try:
            opened.append(deps.trigger_secrets.open(trigger.tenant_id, trigger.id, blob, key_id))
        except SealError:
            continue
    return opened


def verified(secrets: list[str], body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether a Standard Webhooks signature over `body` matches one of `secrets` within
    the library's 5-minute window. Malformed headers (a signature without its comma, bad
    base64, a timestamp that is no number) are a refusal, not an exception."""
    wanted = {
        k: headers[k]
        for k in ("webhook-id", "webhook-timestamp", "webhook-signature")
        if k in headers
    }
    for secret in secrets:
        try:
            Webhook(secret).verify(body, wanted, json_parse=False)
        except (WebhookVerificationError, ValueError, binascii.Error, OverflowError):
            continue
        return True
    return False


async def deliver(command: Delivery, uow: PlanningUow, deps: Deps) -> Outcome:
    """Accept the delivery (one run) unless it was accepted before or the plan refuses it;
    a refusal is recorded too (the route commits it) and a later retry is judged anew."""
    trigger = command.trigger
    tenant_id = trigger.tenant_id
    if not may_write(await uow.tenants.status(tenant_id)):
        return await _refuse(command, uow, "tenant_inactive", "the tenant is suspended or deleted")
    resolved = resolve(trigger.spec, await deps.plan_targets.target(uow, trigger.spec.plan_id))
    if isinstance(resolved, Refusal):
        return await _refuse(command, uow, resolved.value, REFUSAL_TEXT[resolved])
    if not await uow.deliveries.accept(tenant_id, trigger.id, command.delivery_id, resolved):
        return Outcome("duplicate")
    uow.emit(
        TriggerFired(
            trigger_id=trigger.id,
            delivery_id=command.delivery_id,
            kind=trigger.spec.kind,
            plan_id=trigger.spec.plan_id,
            plan_version=resolved,
            inputs=command.inputs,
        )
    )
    return Outcome("accepted", version=resolved)


async def _refuse(command: Delivery, uow: PlanningUow, reason: str, message: str) -> Outcome:
    trigger = command.trigger
    if not await uow.deliveries.refuse(trigger.tenant_id, trigger.id, command.delivery_id, reason):
        return Outcome("duplicate")
    return Outcome("refused", reason=reason, message=message)
