"""The sample's edge API: routes translate HTTP into a command and dispatch it."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from agentsuite_contracts.envelope import Actor
from agentsuite_kit.auth import Principal
from agentsuite_kit.auth.fastapi import require
from agentsuite_kit.cause import acting
from agentsuite_kit.runtime import Runtime
from tests.integration.sample.handlers import AddNote, add_note
from tests.integration.sample.uow import SampleUow


class NoteCreated(BaseModel):
    id: UUID


def router(runtime: Runtime[SampleUow], topic: str) -> APIRouter:
    routes = APIRouter(prefix="/v1")

    @routes.post("/notes", status_code=201)
    async def post_note(
        cmd: AddNote, principal: Annotated[Principal, Depends(require("notes:write"))]
    ) -> NoteCreated:
        assert principal.tenant_id is not None  # require() admits tenant principals only
        with acting(Actor(kind="user", id=principal.subject)):
            async with runtime.uow(principal.tenant_id) as uow:
                note_id = await add_note(cmd, uow, tenant_id=principal.tenant_id, topic=topic)
        return NoteCreated(id=note_id)

    @routes.get("/notes")
    async def list_notes(
        principal: Annotated[Principal, Depends(require("notes:read"))],
    ) -> list[str]:
        async with runtime.uow(principal.tenant_id) as uow:
            return await uow.notes.all()

    return routes
