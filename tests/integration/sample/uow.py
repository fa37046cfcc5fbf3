"""The sample's unit of work: the kit's, plus its repositories."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agentsuite_kit.db import UnitOfWork
from tests.integration.sample.repositories import Effects, Notes


class SampleUow(UnitOfWork):
    def bind(self, session: AsyncSession) -> None:
        super().bind(session)
        self.notes = Notes(session)
        self.effects = Effects(session)
