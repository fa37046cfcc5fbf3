"""The sample's subscriptions: event type -> handler."""

from __future__ import annotations

from agentsuite_kit.runtime import ConsumerSpec
from tests.integration.sample.handlers import record_effect
from tests.integration.sample.messages import NoteAdded, sample_registry
from tests.integration.sample.settings import SampleSettings
from tests.integration.sample.uow import SampleUow


def consumers(settings: SampleSettings) -> list[ConsumerSpec[SampleUow]]:
    return [
        ConsumerSpec[SampleUow](
            name="effects",
            topic=settings.notes_topic,
            handlers={NoteAdded: record_effect},
            registry=sample_registry(settings.notes_topic),
        )
    ]
