"""Drafting's handler on the real database, each scenario in one transaction rolled back
(no gateway needed: the answers are the ones a restarted gateway gives). A draft whose call
the gateway lost (`interrupted`) is asked anew `draft_retries` times, then failed with the
reason, never left pending; a published template that matches drafts without the model,
and one the session cannot fill falls back to it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.catalog import TemplateSpec
from agentsuite_contracts.llm import LlmError, LlmErrorCode, LlmResponse
from agentsuite_planning.handlers import drafting
from agentsuite_planning.repositories.drafts import DraftRecord
from agentsuite_planning.repositories.templates import TemplateRecord, Templates
from agentsuite_planning.uow import PlanningUow
from tests.integration.planning.drafting_support import completed
from tests.integration.planning.harness import Service

pytestmark = [pytest.mark.integration]


def interrupted(request_id: UUID) -> LlmResponse:
    return LlmResponse(
        request_id=request_id,
        requester=drafting.REQUESTER,
        status="error",
        latency_ms=0,
        error=LlmError(
            code=LlmErrorCode.INTERRUPTED, message="the gateway restarted", retryable=True
        ),
    )


async def _draft(uow: PlanningUow, session: UUID) -> DraftRecord:
    [record] = await uow.drafts.page(session, None, 1)
    return record


async def test_a_lost_call_is_asked_anew_then_fails_the_draft(service: Service) -> None:
    tenant, session = uuid4(), uuid4()
    deps = service.deps
    replies = drafting.replies(deps)
    async with deps.runtime.uow(tenant) as uow:
        await drafting.session_completed(completed(tenant, uuid4(), session, "x"), uow, deps)
        asked: list[UUID] = []
        for _ in range(deps.settings.draft_retries + 1):
            draft = await _draft(uow, session)
            assert draft.state == "pending", draft
            assert draft.request_id is not None
            assert draft.request_id not in asked  # a new request each time
            asked.append(draft.request_id)
            assert await drafting.CLIENT.answered(uow, interrupted(draft.request_id), replies)
        draft = await _draft(uow, session)
        assert draft.state == "failed", draft
        assert (draft.error or "").startswith("interrupted: ")
        # the same answer again (a redelivery) finds no pending call: a no-op
        assert not await drafting.CLIENT.answered(uow, interrupted(asked[-1]), replies)
        assert (await _draft(uow, session)).state == "failed"


class Published(Templates):
    """Stands in for plan-feeds' projection (not on this branch yet): these templates."""

    def __init__(self, uow: PlanningUow, *records: TemplateRecord) -> None:
        super().__init__(uow.session)
        self.records = records

    async def published(self, key_or_id: str) -> TemplateRecord | None:
        return next((r for r in self.records if key_or_id in (r.spec.key, str(r.id))), None)

    async def candidates(self, limit: int) -> Sequence[TemplateRecord]:
        return self.records[:limit]


def _template(parameters: dict[str, Any]) -> TemplateRecord:
    spec = TemplateSpec(
        key="outage-notices",
        name="Outage notices",
        version=3,
        kind="outages",
        tags=["customers", "outages"],
        parameters_schema={"type": "object", "properties": parameters, "required": ["channel"]},
        definition={
            "phases": [
                {
                    "key": "main",
                    "name": "Main",
                    "steps": [
                        {
                            "key": "notify",
                            "name": "Notify by {{channel}}",
                            "kind": "tool",
                            "tool": {"tool": "notify", "input": {"via": "{{channel}}"}},
                        }
                    ],
                }
            ]
        },
    )
    return TemplateRecord(uuid4(), spec)


async def test_a_matching_template_drafts_the_plan_with_the_findings_as_parameters(
    service: Service,
) -> None:
    tenant, session = uuid4(), uuid4()
    deps = service.deps
    async with deps.runtime.uow(tenant) as uow:
        uow.templates = Published(uow, _template({"channel": {"type": "string"}}))
        await drafting.session_completed(completed(tenant, uuid4(), session, "x"), uow, deps)
        draft = await _draft(uow, session)
        assert (draft.state, draft.via, draft.template_key) == (
            "drafted",
            "template",
            "outage-notices",
        )
        assert draft.request_id is None  # no model asked
        assert draft.plan_id is not None


async def test_a_template_the_session_cannot_fill_falls_back_to_the_model(
    service: Service,
) -> None:
    tenant, session = uuid4(), uuid4()
    deps = service.deps
    async with deps.runtime.uow(tenant) as uow:
        # `channel` must be an integer: the finding ("email") does not fit
        uow.templates = Published(uow, _template({"channel": {"type": "integer"}}))
        await drafting.session_completed(completed(tenant, uuid4(), session, "x"), uow, deps)
        draft = await _draft(uow, session)
        assert (draft.state, draft.via) == ("pending", "llm")
        assert draft.request_id is not None
        assert any("outage-notices" in r for r in draft.repairs), draft
