"""Drafting: a completed discovery session becomes a plan's version 1, from a published
template that matches its requirements or through the gateway.

The draft row and the template's plan (or the LLM request) commit in one transaction; the
answer is applied in the transaction that marks the call answered. A failed, timed-out or
unusable answer marks the draft `failed` with its reason: nothing stays pending. A call the
gateway lost mid-way (`interrupted`, `unavailable`) is asked anew, `draft_retries` times.
A redelivered `session.completed` finds the session's draft and does nothing; a repeated
answer finds its call no longer pending (the kit's client) and does nothing.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from agentsuite_contracts.discovery import Requirements, SessionCompleted
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.llm import LlmRequest, LlmResponse, ResponseFormat
from agentsuite_contracts.planning import PlanSource
from agentsuite_kit.errors import DomainError
from agentsuite_kit.jobs import Handler as JobHandler
from agentsuite_kit.llm import LlmClient, Replies
from agentsuite_kit.messaging.consistency import check_envelope
from agentsuite_kit.runtime import ConsumerSpec
from agentsuite_kit.storable import escape_text
from agentsuite_kit.tenants import may_write
from agentsuite_planning.deps import Deps
from agentsuite_planning.domain.drafting import (
    BODY_SCHEMA,
    MAX_REASON,
    Drafted,
    DraftInvalid,
    body_of,
    prompt,
    requirements_of,
)
from agentsuite_planning.domain.templates import Match, best, instantiate
from agentsuite_planning.handlers.plan_create import NewPlan, create_plan
from agentsuite_planning.repositories.drafts import DRAFTED, FAILED, PENDING, DraftRecord
from agentsuite_planning.repositories.tables import llm_calls
from agentsuite_planning.uow import PlanningUow

REQUESTER = "planning"
CLIENT = LlmClient[PlanningUow](REQUESTER, llm_calls, name="responses")
# the gateway's process died with the call (or could not take it): no answer exists
LOST = frozenset({"interrupted", "unavailable"})
LLM = "llm"
TEMPLATE = "template"


def _author(event: Envelope[Any]) -> str | None:
    actor = event.actor
    return actor.id[:200] if actor is not None and actor.kind == "user" else None


def template_parameters(match: Match, requirements: Requirements) -> dict[str, Any]:
    """The findings whose obligation is named like one of the template's parameters."""
    props = match.spec.parameters_schema.get("properties")
    if not isinstance(props, dict):
        return {}
    return {
        f.obligation: f.value
        for f in requirements.findings
        if f.obligation in props and f.value is not None
    }


async def session_completed(event: Envelope[Any], uow: PlanningUow, deps: Deps) -> None:
    """A draft of the session's plan, once per session."""
    check_envelope(event)
    payload: SessionCompleted = event.payload
    requirements = payload.requirements
    settings = deps.settings
    found = best(
        [(t.id, t.spec) for t in await uow.templates.candidates(settings.template_candidates)],
        requirements,
        threshold=settings.template_threshold,
    )
    draft_id = uuid7()
    added = await uow.drafts.add(
        draft_id,
        payload.session_id,
        via=TEMPLATE if found is not None else LLM,
        template_key=found.spec.key if found is not None else None,
        requested_by=_author(event),
        requirements=requirements.model_dump(mode="json"),
    )
    if not added:
        return  # redelivered: the session has its draft
    draft = await uow.drafts.get(draft_id)
    assert draft is not None  # added in this transaction
    tenant_id = uow.tenant_id
    assert tenant_id is not None  # a tenant's event, in its unit of work
    if not may_write(await uow.tenants.status(tenant_id)):
        await _failed(uow, draft, "tenant_inactive: the tenant is suspended or deleted")
        return
    if found is not None:
        try:
            drafted = instantiate(found.spec, template_parameters(found, requirements))
        except DomainError as bad:
            # a template the session cannot fill is no reason to give up: the model drafts
            note = f"template {found.spec.key}: {bad.code}: {bad.message}"
            await uow.drafts.change(draft.id, via=LLM, repairs=[escape_text(note)[:300]])
        else:
            reason = f"drafted from template {found.spec.key} v{found.spec.version}"
            await _finish(uow, deps, draft, requirements, drafted, reason)
            return
    await send(uow, deps, draft.id, requirements)


async def send(
    uow: PlanningUow, deps: Deps, draft_id: UUID, requirements: Requirements, retry: int = 0
) -> None:
    """Ask the model for the draft's plan (the `retry`-th new request for it)."""
    settings = deps.settings
    request = LlmRequest(
        requester=REQUESTER,
        model=settings.draft_model,
        messages=prompt(requirements),
        response_format=ResponseFormat(kind="json_schema", name="plan", json_schema=BODY_SCHEMA),
        labels={"draft_id": str(draft_id)},
    )
    sent = await CLIENT.send(
        uow,
        request,
        values={"draft_id": draft_id, "retry": retry},
        resend_after=settings.draft_resend_after,
        resends=settings.draft_resends,
    )
    await uow.drafts.change(draft_id, request_id=sent.request_id)


async def _lock(uow: PlanningUow, call: dict[str, Any]) -> DraftRecord | None:
    # the draft first, then the call: the order `session_completed` takes them in
    draft = await uow.drafts.get(call["draft_id"], lock=True)
    return draft if draft is not None and draft.state == PENDING else None


def replies(deps: Deps) -> Replies[PlanningUow]:
    async def on_answer(
        uow: PlanningUow, call: dict[str, Any], response: LlmResponse, held: Any
    ) -> None:
        await answered(uow, deps, call, response, held)

    return Replies(on_answer=on_answer, lock=_lock)


def consumer(deps: Deps) -> ConsumerSpec[PlanningUow]:
    return CLIENT.consumer(replies(deps))


def jobs(deps: Deps) -> dict[str, JobHandler[PlanningUow]]:
    return CLIENT.jobs(replies(deps))


async def answered(
    uow: PlanningUow, deps: Deps, call: dict[str, Any], response: LlmResponse, draft: DraftRecord
) -> None:
    """The answer made the draft's plan, or the draft failed with the reason."""
    stored = await uow.drafts.requirements(draft.id)
    if stored is None:
        await _failed(uow, draft, "requirements_lost: the draft kept no requirements")
        return
    requirements = Requirements.model_validate(stored)
    if response.status != "ok" or response.message is None:
        error = response.error
        code = str(error.code) if error is not None else "provider_error"
        if code in LOST and call["retry"] < deps.settings.draft_retries:
            await send(uow, deps, draft.id, requirements, call["retry"] + 1)
            return
        message = error.message if error is not None else "the gateway answered an error"
        await _failed(uow, draft, f"{code}: {message}")
        return
    try:
        drafted = body_of(
            response.message.content,
            default_name=f"Plan for {requirements.objective}"[:200],
            default_goal=requirements.goal or "",
        )
    except DraftInvalid as bad:
        await _failed(uow, draft, f"invalid_answer: {bad.reason}")
        return
    await _finish(uow, deps, draft, requirements, drafted, "drafted by the model")


async def _finish(
    uow: PlanningUow,
    deps: Deps,
    draft: DraftRecord,
    requirements: Requirements,
    drafted: Drafted,
    reason: str,
) -> None:
    command = NewPlan(
        body=drafted.body,
        source=PlanSource(kind="discovery", id=str(draft.session_id)),
        reason=reason,
        author=draft.requested_by,
        requirements=requirements_of(draft.session_id, requirements),
        gaps=requirements.forced or bool(requirements.gaps),
    )
    try:
        plan_id = await create_plan(command, uow, deps)
    except DomainError as bad:
        await _failed(uow, draft, f"{bad.code}: {bad.message}")
        return
    repairs = [*draft.repairs, *drafted.repairs]
    await uow.drafts.change(
        draft.id, state=DRAFTED, plan_id=plan_id, repairs=repairs, requirements=None
    )


async def _failed(uow: PlanningUow, draft: DraftRecord, reason: str) -> None:
    await uow.drafts.change(
        draft.id, state=FAILED, error=escape_text(reason)[:MAX_REASON], requirements=None
    )
