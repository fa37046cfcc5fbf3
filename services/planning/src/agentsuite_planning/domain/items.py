"""An item: a named thing a tenant keeps. The rules of its name are here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from agentsuite_contracts.ids import uuid7
from agentsuite_kit.errors import Invalid

MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class Item:
    id: UUID
    tenant_id: UUID
    name: str


def new_item(tenant_id: UUID, name: str) -> Item:
    """A new item of `tenant_id`; white space around the name is not part of it."""
    text = name.strip()
    if not text:
        raise Invalid("name_blank", "an item needs a name that is not blank", field="name")
    if len(text) > MAX_NAME:
        raise Invalid("name_too_long", f"a name has at most {MAX_NAME} characters", field="name")
    return Item(uuid7(), tenant_id, text)
