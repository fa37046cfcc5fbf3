"""What happens on each command and event: a unit of work in, events out."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from agentsuite_contracts.envelope import Envelope, Subject
from tests.integration.sample.domain import write_note
from tests.integration.sample.messages import NoteAdded
from tests.integration.sample.uow import SampleUow


class AddNote(BaseModel):
    body: str = Field(min_length=1, max_length=500)


async def add_note(cmd: AddNote, uow: SampleUow, *, tenant_id: UUID, topic: str) -> UUID:
    """The state change and its event, committed together."""
    note = write_note(tenant_id, cmd.body)
    await uow.notes.save(note)
    uow.emit(
        NoteAdded(note_id=note.id, body=note.body),
        subject=Subject(type="note", id=str(note.id)),
        topic=topic,
    )
    await uow.commit()
    return note.id


async def record_effect(envelope: Envelope[Any], uow: SampleUow) -> None:
    """The consumer side: one effect row per applied event (a double apply would show)."""
    await uow.effects.record(envelope.id, envelope.tenant_id)
