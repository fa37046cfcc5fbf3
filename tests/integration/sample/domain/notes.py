"""A note is a non-blank text of at most 500 characters, owned by a tenant."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from agentsuite_contracts.ids import uuid7

MAX_BODY = 500


@dataclass(frozen=True, slots=True)
class Note:
    id: UUID
    tenant_id: UUID
    body: str


def write_note(tenant_id: UUID, body: str) -> Note:
    """A new note; surrounding white space is not part of it."""
    text = body.strip()
    if not text:
        raise ValueError("body: a note needs some text")
    if len(text) > MAX_BODY:
        raise ValueError(f"body: at most {MAX_BODY} characters")
    return Note(uuid7(), tenant_id, text)
