"""Kafka request records and the response cache (owner: request/reply)."""

from __future__ import annotations

from agentsuite_kit.db.repository import Repository


class Requests(Repository):
    pass


class CacheEntries(Repository):
    pass
