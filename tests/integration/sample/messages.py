"""The sample's one event. A real service's payloads live in `contracts/`; this test-only
one stays here so the kit's tests do not add a topic to the registry: the sample declares
its topic instead (`notes_topic`) and subscribes through a registry that includes it."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from agentsuite_contracts.envelope import Event
from agentsuite_contracts.registry import REGISTRY, Registry, Topic


class NoteAdded(Event):
    type: Literal["sample.note.added"] = Field(
        default="sample.note.added", description="Message type."
    )
    note_id: UUID = Field(description="The note.")
    body: str = Field(description="Its text.")


def notes_topic(name: str) -> Topic:
    """The sample's topic under `name` (tests give each run its own)."""
    return Topic(
        name=name,
        key="note_id",
        partitions=3,
        payloads=(NoteAdded,),
        owner="sample",
        consumers=("sample",),
        description="The kit tests' sample service: notes added.",
    )


def sample_registry(name: str) -> Registry:
    """Agentsuite's registry plus the sample's topic called `name`."""
    return REGISTRY.with_topics(notes_topic(name))
