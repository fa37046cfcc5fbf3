"""The sample service's edge API, built the way every service builds one: routes only
translate HTTP into a command and dispatch it to a handler with a unit of work."""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from agentsuite_contracts.envelope import Actor, Envelope, Subject
from agentsuite_kit.auth import Principal
from agentsuite_kit.auth.fastapi import require
from agentsuite_kit.runtime import ConsumerSpec, Runtime
from agentsuite_kit.settings import ServiceSettings, env_prefix
from tests.integration.kafka_helpers import ADAPTER, record_effect
from tests.integration.sample.model import NoteAdded, SampleUow


class SampleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=env_prefix("sample"), extra="ignore")
    service: ClassVar[str] = "sample"

    notes_topic: str = "sample.notes.v1"


class AddNote(BaseModel):
    body: str = Field(min_length=1, max_length=500)


class NoteCreated(BaseModel):
    id: UUID


async def add_note(cmd: AddNote, uow: SampleUow, *, principal: Principal, topic: str) -> UUID:
    """The handler: state change and its event, committed together."""
    note_id = uuid4()
    await uow.notes.add(note_id, principal.tenant_id, cmd.body)
    uow.emit(
        Envelope[NoteAdded](
            producer="sample",
            tenant_id=principal.tenant_id,
            actor=Actor(kind="user", id=principal.subject),
            subject=Subject(type="note", id=str(note_id)),
            correlation_id=uuid4(),
            payload=NoteAdded(note_id=note_id, body=cmd.body),
        ),
        topic=topic,
    )
    await uow.commit()
    return note_id


def build(settings: SampleSettings) -> FastAPI:
    runtime = Runtime[SampleUow](
        settings,
        uow=SampleUow,
        consumers=[
            ConsumerSpec[SampleUow](
                name="sample-effects",
                topic=settings.notes_topic,
                handler=record_effect,
                adapter=ADAPTER,
            )
        ],
    )
    router = APIRouter()

    @router.post("/notes", status_code=201)
    async def post_note(
        cmd: AddNote, principal: Annotated[Principal, Depends(require("notes:write"))]
    ) -> NoteCreated:
        async with runtime.uow(principal.tenant_id) as uow:
            note_id = await add_note(cmd, uow, principal=principal, topic=settings.notes_topic)
        return NoteCreated(id=note_id)

    @router.get("/notes")
    async def list_notes(
        principal: Annotated[Principal, Depends(require("notes:read"))],
    ) -> list[str]:
        async with runtime.uow(principal.tenant_id) as uow:
            return await uow.notes.all()

    return runtime.app(title="sample", version="1", routers=[router])
