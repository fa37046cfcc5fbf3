"""Templates without a server: plan-phase skeletons, revisions, the publish event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from agentsuite_catalog.domain.templates import (
    MAX_STEPS,
    TemplateDraft,
    deprecate,
    new_template,
    publish,
    revise,
)
from agentsuite_contracts.catalog import (
    CatalogStatus,
    TemplateCreated,
    TemplatePublished,
    TemplateUpdated,
)
from agentsuite_contracts.planning import PlanPhase
from agentsuite_kit.errors import Conflict, Invalid

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def phase(key: str, steps: int = 1) -> PlanPhase:
    return PlanPhase.model_validate(
        {
            "key": key,
            "name": key,
            "steps": [
                {
                    "key": f"{key}-s{i}",
                    "name": "search",
                    "kind": "tool",
                    "tool": {"tool": "web.search"},
                }
                for i in range(steps)
            ],
        }
    )


def draft(*phases: PlanPhase, **more: Any) -> TemplateDraft:
    return TemplateDraft(name="Lead qualification", phases=phases or (phase("main"),), **more)


def test_a_template_is_revised_and_a_published_revision_stays() -> None:
    template, events = new_template(uuid4(), "leads", draft(kind="sales", tags=["CRM"]), NOW)
    assert template.spec.definition["phases"][0]["steps"][0]["tool"]["tool"] == "web.search"
    assert (template.spec.kind, template.spec.tags) == ("sales", ["crm"])
    assert events == [TemplateCreated(template_id=template.id, spec=template.spec)]
    template, events = publish(template, NOW)
    assert events == [
        TemplatePublished(template_id=template.id, key="leads", version=1, spec=template.spec)
    ]
    with pytest.raises(Conflict):
        publish(template, NOW)
    revised, events = revise(template, draft(phase("a"), phase("b")), NOW)
    assert (revised.version, revised.status) == (2, CatalogStatus.DRAFT)
    assert events == [TemplateUpdated(template_id=template.id, spec=revised.spec)]
    gone, _ = deprecate(revised, "old", NOW)
    with pytest.raises(Conflict):
        revise(gone, draft(), NOW)


@pytest.mark.parametrize(
    ("made", "code", "field"),
    [
        (draft(phase("a"), phase("a")), "phase_key_twice", "phases"),
        (draft(phase("a", MAX_STEPS + 1)), "too_many_steps", "phases"),
        (draft(parameters_schema={"type": "nope"}), "schema_invalid", "parameters_schema"),
        (draft(kind="Not Kind"), "kind_invalid", "kind"),
    ],
)
def test_a_bad_template_is_refused_naming_the_field(
    made: TemplateDraft, code: str, field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        new_template(uuid4(), "t", made, NOW)
    assert (refused.value.code, refused.value.field) == (code, field)
