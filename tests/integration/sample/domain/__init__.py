"""The sample's domain: notes. Pure: no SQLAlchemy, FastAPI, faststream or httpx."""

from tests.integration.sample.domain.notes import Note, write_note

__all__ = ["Note", "write_note"]
