"""Templates: reusable plan skeletons planning instantiates. A template's definition is a
list of plan phases in the contracts' shape (the step kinds execution runs), with a JSON
Schema of the parameters it takes.

A revision, once published, never changes: a change after publishing is a new revision, a
draft until it is published in turn. The key never changes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from agentsuite_catalog.domain.tasks import check_key
from agentsuite_catalog.domain.tools import CATEGORY, MAX_TAGS, TAG
from agentsuite_contracts.catalog import (
    CatalogStatus,
    TemplateCreated,
    TemplateDeprecated,
    TemplatePublished,
    TemplateSpec,
    TemplateUpdated,
)
from agentsuite_contracts.envelope import Payload
from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.planning import PlanPhase
from agentsuite_kit.errors import Conflict, Invalid
from agentsuite_kit.schemas import check_schema, nodes

KIND = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
MAX_PHASES = 50
MAX_STEPS = 500  # across every phase, nested steps included
MAX_NAME = 200
MAX_TEXT = 4_000


@dataclass(frozen=True, slots=True)
class TemplateDraft:
    name: str
    phases: Sequence[PlanPhase]
    description: str = ""
    category: str | None = None
    kind: str | None = None
    tags: Sequence[str] = ()
    parameters_schema: Any = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Template:
    id: UUID
    tenant_id: UUID
    status: CatalogStatus  # the newest revision's
    spec: TemplateSpec  # the newest revision
    created_at: datetime
    updated_at: datetime
    deprecated: bool = False

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def version(self) -> int:
        return self.spec.version


def _steps(definition: Any) -> int:
    """Steps in a dumped definition, nested ones included: every object with a `key` and a
    step `kind` (walked iteratively: nesting is user input)."""
    return sum(1 for n in nodes(definition) if isinstance(n, dict) and "kind" in n and "key" in n)


def spec_of(key: str, version: int, draft: TemplateDraft) -> TemplateSpec:
    if not draft.name.strip() or len(draft.name) > MAX_NAME:
        raise Invalid("name_invalid", f"a name is 1-{MAX_NAME} characters", field="name")
    if len(draft.description) > MAX_TEXT:
        raise Invalid("description_invalid", "description is too long", field="description")
    if draft.category is not None and not CATEGORY.match(draft.category):
        raise Invalid("category_invalid", "a category is 1-64 lowercase letters", field="category")
    if draft.kind is not None and not KIND.match(draft.kind):
        raise Invalid("kind_invalid", "a kind is 1-64 lowercase letters, digits, _ -", field="kind")
    if len(draft.tags) > MAX_TAGS or any(not TAG.match(t) for t in draft.tags):
        raise Invalid("tags_invalid", f"at most {MAX_TAGS} tags of 1-64 characters", field="tags")
    if not draft.phases or len(draft.phases) > MAX_PHASES:
        raise Invalid("phases_invalid", f"a template has 1-{MAX_PHASES} phases", field="phases")
    keys = [phase.key for phase in draft.phases]
    if len(set(keys)) != len(keys):
        raise Invalid("phase_key_twice", "phase keys are unique", field="phases")
    definition = {"phases": [p.model_dump(mode="json") for p in draft.phases]}
    if _steps(definition["phases"]) > MAX_STEPS:
        raise Invalid("too_many_steps", f"a template has at most {MAX_STEPS} steps", field="phases")
    return TemplateSpec(
        key=key,
        name=draft.name.strip(),
        description=draft.description,
        category=draft.category,
        version=version,
        definition=definition,
        parameters_schema=check_schema(draft.parameters_schema, "parameters_schema"),
        kind=draft.kind,
        tags=list(dict.fromkeys(t.lower() for t in draft.tags)),
    )


def new_template(
    tenant_id: UUID, key: str, draft: TemplateDraft, now: datetime
) -> tuple[Template, list[Payload]]:
    spec = spec_of(check_key(key), 1, draft)
    template = Template(uuid7(), tenant_id, CatalogStatus.DRAFT, spec, now, now)
    return template, [TemplateCreated(template_id=template.id, spec=spec, status=template.status)]


def revise(
    template: Template, draft: TemplateDraft, now: datetime
) -> tuple[Template, list[Payload]]:
    """The template's next revision, a draft; the published ones stay as they are."""
    if template.deprecated:
        raise Conflict("template_deprecated", f"template {template.key} is deprecated")
    spec = spec_of(template.key, template.version + 1, draft)
    done = replace(template, spec=spec, status=CatalogStatus.DRAFT, updated_at=now)
    return done, [TemplateUpdated(template_id=template.id, spec=spec, status=done.status)]


def publish(template: Template, now: datetime) -> tuple[Template, list[Payload]]:
    if template.deprecated:
        raise Conflict("template_deprecated", f"template {template.key} is deprecated")
    if template.status != CatalogStatus.DRAFT:
        raise Conflict("not_a_draft", f"revision {template.version} is published already")
    done = replace(template, status=CatalogStatus.PUBLISHED, updated_at=now)
    event = TemplatePublished(
        template_id=template.id, key=template.key, version=template.version, spec=template.spec
    )
    return done, [event]


def deprecate(
    template: Template, reason: str | None, now: datetime
) -> tuple[Template, list[Payload]]:
    if template.deprecated:
        raise Conflict("template_deprecated", f"template {template.key} is deprecated already")
    done = replace(template, deprecated=True, updated_at=now)
    event = TemplateDeprecated(
        template_id=template.id, key=template.key, reason=reason, spec=template.spec
    )
    return done, [event]
