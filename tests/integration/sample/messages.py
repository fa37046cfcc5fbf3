"""The sample's one event. A real service's payloads live in `contracts/`; this test-only
one stays here so the kit's tests do not add a topic to the registry."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from agentsuite_contracts.envelope import Event


class NoteAdded(Event):
    type: Literal["sample.note.added"] = Field(
        default="sample.note.added", description="Message type."
    )
    note_id: UUID = Field(description="The note.")
    body: str = Field(description="Its text.")
