"""The sample's unit of work: the kit's, plus its repositories."""

from __future__ import annotations

from agentsuite_kit.db import UnitOfWork
from agentsuite_kit.db.scoped import ScopedConnection
from tests.integration.sample.repositories import Effects, Notes


class SampleUow(UnitOfWork):
    def bind(self, session: ScopedConnection) -> None:
        super().bind(session)
        self.notes = Notes(session)
        self.effects = Effects(session)
