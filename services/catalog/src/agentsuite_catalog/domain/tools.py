"""Tools and their versions: the rules of a tool's name, of a version's spec, and the
lifecycle draft -> published -> deprecated, each transition with the events it records.

A tool's name never changes (execution resolves tools by name); a version, once created,
never changes either (its spec is frozen; only its lifecycle moves). The head is the
version new plans get by default: the highest published release (a prerelease only while
no release is published).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from agentsuite_catalog.domain.bindings import BindingSpec, binding_of
from agentsuite_catalog.domain.compat import breaks
from agentsuite_catalog.domain.semver import SemVer, parse
from agentsuite_contracts.catalog import (
    CatalogStatus,
    SideEffect,
    ToolDeprecated,
    ToolPublished,
    ToolRegistered,
    ToolRetry,
    ToolSpec,
    ToolUpdated,
    ToolVersionDeprecated,
    ToolVersionPublished,
)
from agentsuite_contracts.envelope import Payload
from agentsuite_contracts.ids import uuid7
from agentsuite_kit.errors import Conflict, Invalid
from agentsuite_kit.schemas import check_schema

TOOL_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,127}$")
TAG = re.compile(r"^[^\s,]{1,64}$")
CATEGORY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_TAGS = 32
MAX_DESCRIPTION = 4_000
MAX_TIMEOUT_MS = 600_000
MAX_BREAKS = 10  # named in a refusal's message

DRAFT, PUBLISHED, DEPRECATED = (
    CatalogStatus.DRAFT,
    CatalogStatus.PUBLISHED,
    CatalogStatus.DEPRECATED,
)


@dataclass(frozen=True, slots=True)
class Tool:
    id: UUID
    tenant_id: UUID
    name: str
    created_at: datetime
    head: str | None = None  # the head version, None while nothing is published


@dataclass(frozen=True, slots=True)
class Deprecation:
    at: datetime
    sunset_at: datetime | None = None
    reason: str | None = None
    replacement: str | None = None


@dataclass(frozen=True, slots=True)
class ToolVersion:
    id: UUID
    tool_id: UUID
    semver: SemVer
    status: CatalogStatus
    spec: ToolSpec
    created_at: datetime
    published_at: datetime | None = None
    deprecation: Deprecation | None = None

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def ever_published(self) -> bool:
        return self.status in (PUBLISHED, DEPRECATED)


@dataclass(frozen=True, slots=True)
class Draft:
    """What a version says, before it is checked into a `ToolSpec`."""

    version: str
    description: str
    binding: BindingSpec
    input_schema: Any
    output_schema: Any = None
    display_name: str | None = None
    category: str | None = None
    tags: Sequence[str] = ()
    side_effect: SideEffect | None = None
    retry: ToolRetry | None = None
    requires_approval: bool = False
    timeout_ms: int = 30_000


def check_name(name: str) -> str:
    if not TOOL_NAME.match(name):
        raise Invalid(
            "name_invalid",
            "a tool name is 1-128 characters: lowercase letters, digits, _ . -, starting "
            "with a letter",
            field="name",
        )
    return name


def _tags(tags: Sequence[str]) -> list[str]:
    if len(tags) > MAX_TAGS:
        raise Invalid("too_many_tags", f"a version has at most {MAX_TAGS} tags", field="tags")
    kept: dict[str, None] = {}
    for tag in tags:
        if not TAG.match(tag):
            raise Invalid(
                "tag_invalid", "a tag is 1-64 characters, no spaces or commas", field="tags"
            )
        kept[tag.lower()] = None
    return list(kept)


def spec_of(name: str, draft: Draft) -> ToolSpec:
    """The frozen spec of version `draft.version` of tool `name`; Invalid naming the field."""
    semver = parse(draft.version)
    if not draft.description.strip() or len(draft.description) > MAX_DESCRIPTION:
        raise Invalid(
            "description_invalid",
            f"a description is not blank and has at most {MAX_DESCRIPTION} characters",
            field="description",
        )
    if not 0 < draft.timeout_ms <= MAX_TIMEOUT_MS:
        raise Invalid("timeout_invalid", f"timeout_ms is 1..{MAX_TIMEOUT_MS}", field="timeout_ms")
    if draft.category is not None and not CATEGORY.match(draft.category):
        raise Invalid(
            "category_invalid",
            "a category is 1-64 lowercase letters, digits, _ . -",
            field="category",
        )
    side_effect = draft.side_effect
    return ToolSpec(
        name=name,
        version=str(semver),
        display_name=(draft.display_name or name).strip() or name,
        description=draft.description.strip(),
        category=draft.category,
        input_schema=check_schema(draft.input_schema, "input_schema"),
        output_schema=check_schema(
            {} if draft.output_schema is None else draft.output_schema, "output_schema"
        ),
        binding=binding_of(draft.binding).contract,
        timeout_ms=draft.timeout_ms,
        requires_approval=draft.requires_approval,
        idempotent=side_effect in (SideEffect.READ_ONLY, SideEffect.IDEMPOTENT),
        tags=_tags(draft.tags),
        side_effect=side_effect,
        retry=draft.retry,
    )


def new_tool(
    tenant_id: UUID, name: str, draft: Draft, now: datetime
) -> tuple[Tool, ToolVersion, list[Payload]]:
    """A tool with its first version, a draft."""
    tool = Tool(uuid7(), tenant_id, check_name(name), now)
    spec = spec_of(tool.name, draft)
    version = ToolVersion(uuid7(), tool.id, parse(spec.version), DRAFT, spec, now)
    return tool, version, [ToolRegistered(tool_id=tool.id, spec=spec)]


def new_version(
    tool: Tool,
    versions: Sequence[ToolVersion],
    draft: Draft,
    now: datetime,
    *,
    name: str | None = None,
) -> tuple[ToolVersion, list[Payload]]:
    """Another draft version of `tool`; `name`, when given, must be the tool's own."""
    if name is not None and name != tool.name:
        raise Invalid(
            "name_immutable",
            f"a tool's name never changes (execution resolves tools by name): this tool is "
            f"{tool.name!r}; register a new tool for a new name",
            field="name",
        )
    spec = spec_of(tool.name, draft)
    semver = parse(spec.version)
    if any(v.semver == semver for v in versions):
        raise Invalid(
            "version_exists",
            f"version {spec.version} of {tool.name} exists: versions are immutable, "
            "create a new one",
            field="version",
        )
    version = ToolVersion(uuid7(), tool.id, semver, DRAFT, spec, now)
    return version, [ToolUpdated(tool_id=tool.id, spec=spec)]


def head_of(versions: Sequence[ToolVersion]) -> ToolVersion | None:
    live = [v for v in versions if v.status == PUBLISHED]
    releases = [v for v in live if not v.semver.prerelease]
    pool = releases or live
    return max(pool, key=lambda v: v.semver) if pool else None


def predecessor(versions: Sequence[ToolVersion], of: ToolVersion) -> ToolVersion | None:
    """The highest version below `of` that was ever published: what its callers use."""
    before = [v for v in versions if v.ever_published and v.semver < of.semver]
    return max(before, key=lambda v: v.semver) if before else None


def successor(versions: Sequence[ToolVersion], of: ToolVersion) -> ToolVersion | None:
    """The lowest version above `of` that was ever published: where `of`'s callers go
    next when `of` is published late (1.1.0 after 1.2.0)."""
    after = [v for v in versions if v.ever_published and v.semver > of.semver]
    return min(after, key=lambda v: v.semver) if after else None


def _check_compatible(old: ToolVersion, new: ToolVersion, message: str) -> None:
    """Invalid when `new` may not break `old` (no major step between them) and does."""
    if new.semver.may_break(old.semver):
        return
    found = breaks(old.spec.input_schema, new.spec.input_schema)
    if found:
        listed = "; ".join(str(b) for b in found[:MAX_BREAKS])
        raise Invalid("breaking_change", message.format(listed=listed), field="input_schema")


def publish(
    tool: Tool, version: ToolVersion, versions: Sequence[ToolVersion], now: datetime
) -> tuple[Tool, ToolVersion, list[Payload]]:
    """Publish draft `version`. Its input schema may break its predecessor's, and the next
    published version's may break its own, only across a major bump (a minor one within
    0.y.z)."""
    if version.status != DRAFT:
        raise Conflict(
            "not_a_draft", f"version {version.version} is {version.status.value}, not a draft"
        )
    before = predecessor(versions, version)
    if before is not None:
        _check_compatible(
            before,
            version,
            f"the input schema breaks callers of {before.version} ({{listed}}): "
            "publish it as a new major version",
        )
    # checked both ways: a version published below a published one is a step its own
    # callers take on their way up, so the one above must not break it either
    above = successor(versions, version)
    if above is not None:
        _check_compatible(
            version,
            above,
            f"{above.version}, published already, would break callers of this version "
            f"({{listed}}): give it an input schema {above.version} accepts, or another major",
        )
    published = replace(version, status=PUBLISHED, published_at=now)
    after = [published if v.id == version.id else v for v in versions]
    head = head_of(after)
    assert head is not None  # `published` is published
    events: list[Payload] = [
        ToolVersionPublished(tool_id=tool.id, tool_version_id=version.id, spec=version.spec),
        ToolPublished(
            tool_id=tool.id,
            name=tool.name,
            version=head.version,
            tool_version_id=head.id,
            spec=head.spec,
        ),
    ]
    return replace(tool, head=head.version), published, events


def deprecate(
    tool: Tool,
    version: ToolVersion,
    versions: Sequence[ToolVersion],
    deprecation: Deprecation,
) -> tuple[Tool, ToolVersion, list[Payload]]:
    """Deprecate published `version`. Were it the head, the next one becomes the head; were
    it the last published one, the tool itself is deprecated."""
    if version.status != PUBLISHED:
        raise Conflict(
            "not_published", f"version {version.version} is {version.status.value}, not published"
        )
    if deprecation.sunset_at is not None and deprecation.sunset_at < deprecation.at:
        raise Invalid("sunset_past", "sunset_at is in the past", field="sunset_at")
    done = replace(version, status=DEPRECATED, deprecation=deprecation)
    events: list[Payload] = [
        ToolVersionDeprecated(
            tool_id=tool.id,
            tool_version_id=version.id,
            spec=version.spec,
            reason=deprecation.reason,
            replacement=deprecation.replacement,
            sunset_at=deprecation.sunset_at,
        )
    ]
    head = head_of([done if v.id == version.id else v for v in versions])
    if head is None:
        events.append(
            ToolDeprecated(
                tool_id=tool.id,
                name=tool.name,
                reason=deprecation.reason,
                replacement=deprecation.replacement,
                sunset_at=deprecation.sunset_at,
                tool_version_id=version.id,
                spec=version.spec,
            )
        )
    elif head.version != tool.head:
        events.append(
            ToolPublished(
                tool_id=tool.id,
                name=tool.name,
                version=head.version,
                tool_version_id=head.id,
                spec=head.spec,
            )
        )
    return replace(tool, head=None if head is None else head.version), done, events
