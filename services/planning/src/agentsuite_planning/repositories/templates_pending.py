"""PLACEHOLDER until plan-feeds' `catalog.templates.v1` projection lands: the interface
drafting reads published templates through (`uow.templates`), answering that none is
published. plan-feeds' repository replaces this class with the same two methods."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from agentsuite_contracts.catalog import TemplateSpec
from agentsuite_kit.db import Repository


@dataclass(frozen=True, slots=True)
class TemplateRecord:
    """A published template revision: its catalog id and its spec."""

    id: UUID
    spec: TemplateSpec


class Templates(Repository):
    async def published(self, key_or_id: str) -> TemplateRecord | None:
        """The newest published revision of the template with this key (or id), or None."""
        del key_or_id
        return None

    async def candidates(self, limit: int) -> Sequence[TemplateRecord]:
        """Up to `limit` published templates (newest revision each) a draft may match."""
        del limit
        return []
