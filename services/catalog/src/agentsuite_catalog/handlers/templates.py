"""Templates: create, revise (a new draft revision), publish, deprecate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from uuid import UUID

from agentsuite_catalog.deps import Deps
from agentsuite_catalog.domain import templates as domain
from agentsuite_catalog.domain.search import template_entry
from agentsuite_catalog.domain.templates import Template, TemplateDraft
from agentsuite_catalog.handlers.common import emit, now, writable
from agentsuite_catalog.uow import CatalogUow
from agentsuite_contracts.catalog import CatalogStatus
from agentsuite_contracts.envelope import Payload
from agentsuite_kit.errors import Conflict, NotFound


@dataclass(frozen=True, slots=True)
class CreateTemplate:
    key: str
    draft: TemplateDraft


@dataclass(frozen=True, slots=True)
class ReviseTemplate:
    template_id: UUID
    draft: TemplateDraft
    check: Callable[[int | None], None]


@dataclass(frozen=True, slots=True)
class PublishTemplate:
    template_id: UUID


@dataclass(frozen=True, slots=True)
class DeprecateTemplate:
    template_id: UUID
    reason: str | None = None


async def _changed(uow: CatalogUow, template: Template, events: Sequence[Payload]) -> None:
    # the search entry shows the newest published revision (what planning instantiates),
    # as a tool's shows its head; the newest revision while none is published
    published = await uow.templates.newest_published(template.id)
    shown = template
    if published is not None and published.version != template.version:
        shown = replace(template, spec=published, status=CatalogStatus.PUBLISHED)
    await uow.search.put(template_entry(shown))
    emit(uow, events)


async def _template(uow: CatalogUow, template_id: UUID) -> Template:
    template = await uow.templates.get(template_id, lock=True)
    if template is None:
        raise NotFound("template_not_found", f"no template {template_id}")
    return template


async def create_template(command: CreateTemplate, uow: CatalogUow, deps: Deps) -> Template:
    tenant_id = await writable(uow)
    template, events = domain.new_template(tenant_id, command.key, command.draft, now())
    if not await uow.templates.add(template):
        raise Conflict("key_taken", f"a template {template.key} exists", field="key")
    await _changed(uow, template, events)
    return template


async def revise_template(command: ReviseTemplate, uow: CatalogUow, deps: Deps) -> Template:
    await writable(uow)
    template = await _template(uow, command.template_id)
    command.check(template.version)
    template, events = domain.revise(template, command.draft, now())
    await uow.templates.add_revision(template)
    await uow.templates.save(template)
    await _changed(uow, template, events)
    return template


async def publish_template(command: PublishTemplate, uow: CatalogUow, deps: Deps) -> Template:
    await writable(uow)
    template, events = domain.publish(await _template(uow, command.template_id), now())
    await uow.templates.save(template)
    await _changed(uow, template, events)
    return template


async def deprecate_template(command: DeprecateTemplate, uow: CatalogUow, deps: Deps) -> Template:
    await writable(uow)
    found = await _template(uow, command.template_id)
    template, events = domain.deprecate(found, command.reason, now())
    await uow.templates.save(template)
    await _changed(uow, template, events)
    return template
