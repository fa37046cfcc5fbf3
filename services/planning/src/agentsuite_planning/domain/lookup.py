"""What validation needs to know from outside (DESIGN.md "Domain"): plain data a handler
builds from the feeds' projections.

PLACEHOLDER from plan-feeds, holding only the types its repositories return: plan-domain
owns this module; at merge take plan-domain's (the names and fields are DESIGN.md's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class ToolVersion:
    version: str
    deprecated: bool
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class ToolEntry:
    name: str
    latest: str | None
    deprecated: bool
    versions: Mapping[str, ToolVersion]


@dataclass(frozen=True)
class AgentEntry:
    name: str
    latest: int | None
    deprecated: bool
    # revision -> deprecated
    revisions: Mapping[int, bool]


@dataclass(frozen=True)
class Lookup:
    tools: Mapping[str, ToolEntry] = field(default_factory=dict)
    agents: Mapping[str, AgentEntry] = field(default_factory=dict)
    plans: Mapping[UUID, frozenset[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Refs:
    tools: frozenset[str] = frozenset()
    agents: frozenset[str] = frozenset()
    plans: frozenset[UUID] = frozenset()
    models: frozenset[str] = frozenset()
