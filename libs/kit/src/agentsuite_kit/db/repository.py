"""Repositories: the only place SQL lives. Each one wraps the unit of work's session."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class Repository:
    """Base of every repository; subclasses add the queries of one aggregate."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
