"""Events whose envelope and payload disagree are refused before any handler applies
them: dead-lettered at once (`Invalid`, `PermanentError`), never projected. A planning
event whose envelope named plan X version 3 around a snapshot of plan Y version 1 was
accepted, and runs of it reported version 1.

What is checked: the kit's `check_envelope` (the envelope names a tenant where the
subscription's handlers need one, the payload's tenant if it names one, and the aggregate
the payload names as its subject); then the ids and versions a payload repeats agree. A
tenant-less catalog event went through every retry tier (the projection raised
`ValueError` on each try) before it was dead-lettered. A plan's budget must fit the
engine's bigint columns (the contract has no upper bound): one past them was projected,
and every run of the plan then failed each claim and stuck in `running`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from agentsuite_contracts.envelope import Envelope, Payload
from agentsuite_contracts.planning import PlanApproved
from agentsuite_contracts.steps import Budget
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.messaging.consistency import check_envelope
from agentsuite_kit.messaging.consumer import Handler
from agentsuite_kit.messaging.errors import PermanentError
from agentsuite_kit.runtime import ConsumerSpec


def check(event: Envelope[Any], *, tenanted: bool = True) -> None:
    """Raise `Invalid` or `PermanentError` naming the disagreement, if there is one;
    `tenanted`: whether the event must name a tenant (see `check_envelope`)."""
    check_envelope(event, tenanted=tenanted)
    payload = event.payload
    if isinstance(payload, PlanApproved):
        snapshot = payload.plan
        if (snapshot.plan_id, snapshot.version) != (payload.plan_id, payload.version):
            raise PermanentError(
                f"{event.type}: approves plan {payload.plan_id} version {payload.version}, "
                f"its snapshot is plan {snapshot.plan_id} version {snapshot.version}"
            )
        reason = budget_flaw(snapshot.budget)
        if reason is not None:
            raise PermanentError(f"{event.type}: plan.{reason}")


# what the engine's bigint columns hold with room to add one call's spend (the `/budget` and
# start routes' bound too)
MAX_LIMIT = 2**62


def budget_flaw(budget: Budget | None) -> str | None:
    """`budget.<limit>: ...` for a limit past `MAX_LIMIT`, or None."""
    if budget is None:
        return None
    limits = {
        "max_tokens": budget.max_tokens,
        "max_duration_ms": budget.max_duration_ms,
        "max_cost.amount_micros": None
        if budget.max_cost is None
        else budget.max_cost.amount_micros,
    }
    for name, value in limits.items():
        if value is not None and value > MAX_LIMIT:
            return f"budget.{name}: {value} is past the largest limit ({MAX_LIMIT})"
    return None


def checked(handler: Handler[ExecutionUow], *, tenanted: bool) -> Handler[ExecutionUow]:
    async def handle(event: Envelope[Any], uow: ExecutionUow) -> None:
        check(event, tenanted=tenanted)
        await handler(event, uow)

    return handle


def guarded(
    spec: ConsumerSpec[ExecutionUow], *, tenanted: bool = True
) -> ConsumerSpec[ExecutionUow]:
    """`spec` with every handler behind `check`."""
    handlers: Mapping[type[Payload], Handler[ExecutionUow]] = {
        kind: checked(handler, tenanted=tenanted) for kind, handler in spec.handlers.items()
    }
    return replace(spec, handlers=handlers)
