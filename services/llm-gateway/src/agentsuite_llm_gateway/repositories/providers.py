"""Providers, models and their price lists (owner: catalogue admin)."""

from __future__ import annotations

from agentsuite_kit.db.repository import Repository


class Providers(Repository):
    pass


class Models(Repository):
    pass


class Prices(Repository):
    pass
