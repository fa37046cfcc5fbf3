"""Budgets and their reservations (owner: budgets)."""

from __future__ import annotations

from agentsuite_kit.db.repository import Repository


class Budgets(Repository):
    pass
