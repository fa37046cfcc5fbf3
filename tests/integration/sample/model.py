"""Old import path of the sample's pieces (kept while tests move to the service layout)."""

from tests.integration.sample.messages import NoteAdded
from tests.integration.sample.repositories import Effects, Notes, effects, metadata, notes
from tests.integration.sample.uow import SampleUow

__all__ = ["Effects", "NoteAdded", "Notes", "SampleUow", "effects", "metadata", "notes"]
