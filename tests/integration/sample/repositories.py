"""The sample's tables and repositories: all of its SQL."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.dialects.postgresql import UUID as PgUUID

from agentsuite_kit.db import Repository
from agentsuite_kit.llm import calls_table
from tests.integration.sample.domain import Note

metadata = MetaData()

notes = Table(
    "notes",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False, index=True),
    Column("body", String(500), nullable=False),
)

# deliberately no unique constraint: a double apply must show up as a second row
effects = Table(
    "effects",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", PgUUID(as_uuid=True), nullable=False),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=True),
    Column("applied_at", DateTime(timezone=True), server_default=func.now()),
)

# LLM calls in flight (the kit's client), with a column of the sample's own
llm_calls = calls_table("llm_calls", metadata, Column("note", String(200), nullable=True))


# Statements built once, parameters passed per call: SQLAlchemy compiles each once (a
# `.values(...)` per call builds and caches-keys a new statement every time).
_ADD_NOTE = insert(notes)
_ALL_NOTES = select(notes.c.body).order_by(notes.c.body)
_RECORD = insert(effects)


class Notes(Repository):
    async def save(self, note: Note) -> None:
        await self.add(note.id, note.tenant_id, note.body)

    async def add(self, note_id: UUID, tenant_id: UUID, body: str) -> None:
        await self.session.execute(_ADD_NOTE, {"id": note_id, "tenant_id": tenant_id, "body": body})

    async def all(self) -> list[str]:
        return list(await self.session.scalars(_ALL_NOTES))


class Effects(Repository):
    async def record(self, event_id: UUID, tenant_id: UUID | None) -> None:
        # nobody reads the result: deferred, so a batch of events writes its effects at once
        self.session.defer(_RECORD, {"event_id": event_id, "tenant_id": tenant_id})
