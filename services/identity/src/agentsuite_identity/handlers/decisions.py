"""Authorization decisions: answer, record (sampled) with their event, prune old ones."""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from agentsuite_contracts.identity import AuthorizationDecided
from agentsuite_contracts.ids import uuid7
from agentsuite_identity.domain.authz import Decision, Request
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.jobs import Job
from agentsuite_kit.storable import unstorable

if TYPE_CHECKING:
    from agentsuite_identity.deps import Deps

PRUNE = "decisions.prune"
PRUNE_CRON = "*/15 * * * *"


async def decide(deps: Deps, tenant: UUID, request: Request) -> tuple[Decision, UUID | None]:
    """The decision, and its id when this one is recorded (`decision_sample_rate`): the
    row and its AuthorizationDecided event commit together. A decision that is not
    recorded, of a tenant this process knows to be current (`Access.cached`), opens no
    transaction at all."""
    started = time.perf_counter()
    rate = deps.settings.decision_sample_rate
    recorded = rate >= 1 or (rate > 0 and random.random() < rate)  # noqa: S311 - sampling
    if not recorded:
        snapshot = deps.access.cached(tenant)
        if snapshot is not None:
            return snapshot.decide(request, datetime.now(UTC)), None
    async with deps.runtime.uow(tenant) as uow:
        decision = await deps.access.authorize(uow, request)
        if not recorded:
            return decision, None
        return decision, await _record(uow, request, decision, started)


async def _record(uow: IdentityUow, request: Request, decision: Decision, started: float) -> UUID:
    decision_id = uuid7()
    uow.decisions.record(
        {
            "decision_id": decision_id,
            "tenant_id": uow.tenant_id,
            "request": request.to_json(),
            "allowed": decision.allowed,
            "reason": decision.reason,
            "explanation": decision.explanation,
            "elapsed_ms": (time.perf_counter() - started) * 1000,
        }
    )
    explanation = decision.explanation
    uow.emit(
        AuthorizationDecided(
            decision_id=decision_id,
            subject_id=request.subject_id,
            action=request.action,
            resource_type=request.resource_type,
            resource_id=request.resource_id,
            allowed=decision.allowed,
            reason=decision.reason,
            matched_policies=[UUID(p["policy_id"]) for p in explanation["policies"]],
            matched_roles=[r["name"] for r in explanation["roles"]],
        )
    )
    await uow.commit()
    return decision_id


def decision_view(row: Any) -> dict[str, Any]:
    return {
        "decision_id": row["decision_id"],
        "decided_at": row["decided_at"],
        "request": _readable(row["request"]),
        "allowed": row["allowed"],
        "reason": row["reason"],
        "explanation": _readable(row["explanation"]),
        "elapsed_ms": row["elapsed_ms"],
    }


def _readable(document: Any) -> Any:
    """`document`, or why it is withheld: a request stored before the edge bounded nesting
    (kit `MAX_JSON_DEPTH`) cannot be serialized, and one such row made every page of the
    tenant's decision log a 500. The row stays listed; only its document is left out."""
    found = unstorable(document)
    if found is None:
        return document
    return {"withheld": f"{found.path}: {found.reason}"}


def jobs(deps: Deps) -> dict[str, Callable[[Job, IdentityUow], Awaitable[None]]]:
    """`decisions.prune`: keep the newest `decision_retention` decisions per tenant. A job
    of one tenant prunes that tenant; a tenantless one (the cron) prunes every tenant."""

    async def prune(job: Job, uow: IdentityUow) -> None:
        keep = deps.settings.decision_retention
        if job.tenant_id is not None:
            await uow.decisions.prune(keep)
            return
        async with deps.runtime.uow(None, all_tenants=True) as every:
            await every.decisions.prune_all(keep)
            await every.commit()

    return {PRUNE: prune}


async def schedule_prune(uow: IdentityUow) -> None:
    """Register the tenantless prune cron (idempotent: one row by key). Run at startup."""
    await uow.jobs.schedule(PRUNE, cron=PRUNE_CRON, key=PRUNE)
