"""Aliases, system rules and preferences (owner: routing admin)."""

from __future__ import annotations

from agentsuite_kit.db.repository import Repository


class Aliases(Repository):
    pass


class Rules(Repository):
    pass


class Preferences(Repository):
    pass
