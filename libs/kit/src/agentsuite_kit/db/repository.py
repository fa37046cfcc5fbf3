"""Repositories: the only place SQL lives. Each one wraps the unit of work's session."""

from __future__ import annotations

from agentsuite_kit.db.scoped import ScopedConnection


class Repository:
    """Base of every repository; subclasses add the queries of one aggregate.

    `session` is the unit of work's tenant-scoped connection (`execute`, `scalar`,
    `scalars`); a repository never commits.
    """

    def __init__(self, session: ScopedConnection) -> None:
        self.session = session
