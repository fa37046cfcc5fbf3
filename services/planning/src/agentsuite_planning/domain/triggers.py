"""Triggers: a plan published as a webhook or an API endpoint. Which version a delivery
runs, when it is refused, and how a signing secret rotates are decided here and nowhere
else (pure: the handlers bring the plan's state and the clock)."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from agentsuite_contracts.planning import TriggerSpec
from agentsuite_kit.errors import Invalid

LABEL = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
# a delivery id is the sender's (`webhook-id`, Idempotency-Key): printable ASCII, bounded,
# so it can be a unique key and an event field without escaping
DELIVERY_ID = re.compile(r"^[\x21-\x7e]{1,200}$")
SECRET_PREFIX = "whsec_"  # noqa: S105 - the spec's prefix of every secret, not a secret
SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class PlanTarget:
    """What a delivery needs to know of its plan (plan-service's state)."""

    archived: bool
    stale: bool
    approved: frozenset[int]
    labels: Mapping[str, int]


class Refusal(StrEnum):
    """Why an authenticated delivery starts nothing (recorded, answered 409)."""

    PLAN_NOT_FOUND = "plan_not_found"
    PLAN_ARCHIVED = "plan_archived"
    PLAN_STALE = "plan_stale"
    VERSION_NOT_APPROVED = "version_not_approved"
    LABEL_UNSET = "label_unset"


REFUSAL_TEXT: dict[Refusal, str] = {
    Refusal.PLAN_NOT_FOUND: "the trigger's plan does not exist any more",
    Refusal.PLAN_ARCHIVED: "the trigger's plan is archived",
    Refusal.PLAN_STALE: "the plan is stale (a requirement it cites changed): re-approve it",
    Refusal.VERSION_NOT_APPROVED: "the trigger's version of the plan is not approved",
    Refusal.LABEL_UNSET: "the trigger's label points at no version of the plan",
}


@dataclass(frozen=True, slots=True)
class Trigger:
    id: UUID
    tenant_id: UUID
    spec: TriggerSpec
    revision: int
    created_by: str | None = None
    # when the previous signing secret stops being accepted (None: there is none)
    previous_until: datetime | None = None


def check_spec(spec: TriggerSpec) -> TriggerSpec:
    """A spec names exactly one target: a pinned version or a well-formed label."""
    if (spec.plan_version is None) == (spec.label is None):
        raise Invalid(
            "target_ambiguous",
            "a trigger names either `plan_version` or `label`, exactly one",
            field="plan_version",
        )
    if spec.label is not None and not LABEL.fullmatch(spec.label):
        raise Invalid("invalid_label", "a label matches ^[a-z][a-z0-9_-]{0,39}$", field="label")
    return spec


def changed(trigger: Trigger, spec: TriggerSpec) -> Trigger:
    """The trigger with its new spec; its kind never changes (a webhook's URL and secret
    would mean nothing to an API caller)."""
    if spec.kind is not trigger.spec.kind:
        raise Invalid("kind_fixed", "a trigger's kind cannot change", field="kind")
    return replace(trigger, spec=check_spec(spec), revision=trigger.revision + 1)


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def previous_accepted(until: datetime | None, now: datetime) -> bool:
    """Whether the secret a rotation replaced is still accepted at `now`."""
    return until is not None and now < until


def check_delivery_id(value: str, field: str) -> str:
    if not DELIVERY_ID.fullmatch(value):
        raise Invalid(
            "invalid_delivery_id",
            "a delivery id is 1-200 printable ASCII characters without spaces",
            field=field,
        )
    return value


def resolve(spec: TriggerSpec, target: PlanTarget | None) -> int | Refusal:
    """The version a delivery runs now, or why it runs nothing. A label is read at delivery
    time, so moving it (a rollback) moves the trigger with it."""
    if target is None:
        return Refusal.PLAN_NOT_FOUND
    if target.archived:
        return Refusal.PLAN_ARCHIVED
    if target.stale:
        return Refusal.PLAN_STALE
    if spec.label is not None:
        version = target.labels.get(spec.label)
        if version is None:
            return Refusal.LABEL_UNSET
    else:
        assert spec.plan_version is not None  # check_spec: one of the two
        version = spec.plan_version
    if version not in target.approved:
        return Refusal.VERSION_NOT_APPROVED
    return version
