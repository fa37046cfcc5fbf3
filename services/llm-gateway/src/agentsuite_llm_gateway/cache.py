"""The exact-match response cache: keyed by (model, prompt version, normalized request).

An entry is immutable until it expires, so a small in-process LRU answers repeated reads
without the database; only what it cannot know (a miss, an expiry) goes to PostgreSQL.
Hits served from the LRU are counted in memory and added to the rows with the next
database read or write of this process, so the hot path never writes for a warm hit.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from uuid import UUID

import orjson

from agentsuite_kit.jobs import Handler, Job
from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.uow import GatewayUow

log = logging.getLogger(__name__)

PURGE = "llm.cache.purge"
PURGE_CRON = "17 * * * *"  # hourly, off the top of the hour where other crons pile up
LRU_SIZE = 2048

# what never changes the answer: delivery (`stream*`), attribution (`user`, `metadata`),
# the gateway's own extension and the cache switch itself
_IGNORED = frozenset({"stream", "stream_options", "user", "metadata", "agentsuite", "cache"})
# request fields whose value equals the API's documented default in every provider;
# temperature/top_p are left alone: vLLM and Ollama default to the model's own config
_DEFAULTS: dict[str, Any] = {"n": 1}

Key = tuple[UUID, bytes, str]


def _numbers(value: Any) -> Any:
    """1.0 and 1 are the same JSON number; give them one spelling."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def normalized(body: dict[str, Any]) -> dict[str, Any]:
    """`body` without what cannot change the answer (see _IGNORED, _DEFAULTS)."""
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name in _IGNORED or value is None:
            continue
        if name in _DEFAULTS and value == _DEFAULTS[name]:
            continue
        if name == "tools" and value == []:
            continue
        if name == "messages" and isinstance(value, list):
            # a null member of a message is the member left out (OpenAI's reading);
            # tool schemas are not touched: there `null` may be a meaningful default
            value = [
                {k: v for k, v in m.items() if v is not None} if isinstance(m, dict) else m
                for m in value
            ]
        out[name] = _numbers(value)
    return out


class ResponseCache:
    def __init__(self, settings: GatewaySettings, uow: Callable[[UUID | None], GatewayUow]) -> None:
        self.settings = settings
        self._uow = uow
        # (tenant, key, scope) -> (body, expires at, epoch seconds)
        self._lru: OrderedDict[Key, tuple[dict[str, Any], float]] = OrderedDict()
        self._unsaved_hits: dict[Key, int] = {}

    @staticmethod
    def key(requested: str, prompt_version: str | None, body: dict[str, Any]) -> bytes:
        """sha256 of the normalized request (key order, defaults, `stream` and `user` aside)."""
        canonical = orjson.dumps(
            {"model": requested, "prompt_version": prompt_version, "body": normalized(body)},
            option=orjson.OPT_SORT_KEYS,
        )
        return hashlib.sha256(canonical).digest()

    async def get(self, tenant_id: UUID, key: bytes, scope: str) -> dict[str, Any] | None:
        """The stored completion for `key` in `scope` ('' or a run id), if not expired."""
        slot = (tenant_id, key, scope)
        held = self._lru.get(slot)
        if held is not None:
            body, expires = held
            if expires > time.time():
                self._lru.move_to_end(slot)
                self._unsaved_hits[slot] = self._unsaved_hits.get(slot, 0) + 1
                return body
            del self._lru[slot]
        async with self._uow(tenant_id) as uow:
            await self._save_hits(uow, tenant_id)
            found = await uow.cache.hit(key, scope)
            await uow.commit()
        if found is None:
            return None
        body, expires_at = found
        self._remember(slot, body, expires_at.timestamp())
        return body

    async def put(
        self, tenant_id: UUID, key: bytes, scope: str, model: str, body: dict[str, Any], ttl: float
    ) -> None:
        """Store (or replace) the completion for `key` in `scope` for `ttl` seconds."""
        async with self._uow(tenant_id) as uow:
            await self._save_hits(uow, tenant_id)
            expires_at = await uow.cache.put(key, scope, model, body, ttl)
            await uow.commit()
        self._remember((tenant_id, key, scope), body, expires_at.timestamp())

    def _remember(self, slot: Key, body: dict[str, Any], expires: float) -> None:
        self._lru[slot] = (body, expires)
        self._lru.move_to_end(slot)
        while len(self._lru) > LRU_SIZE:
            self._lru.popitem(last=False)

    async def _save_hits(self, uow: GatewayUow, tenant_id: UUID) -> None:
        mine = [(slot, n) for slot, n in self._unsaved_hits.items() if slot[0] == tenant_id]
        if not mine:
            return
        for slot, _ in mine:
            del self._unsaved_hits[slot]
        await uow.cache.add_hits([(key, scope, n) for (_, key, scope), n in mine])

    def forget(self) -> None:
        """Drop the in-process copies (tests; a purge elsewhere needs none: rows expire)."""
        self._lru.clear()


async def purge(uow: Callable[[UUID | None], GatewayUow], batch: int = 10_000) -> int:
    """Delete every tenant's expired entries, `batch` rows per statement; how many."""
    total = 0
    while True:
        async with uow(None) as every:
            done = await every.cache.purge_expired(batch)
            await every.commit()
        total += done
        if done < batch:
            return total


def jobs(uow: Callable[[UUID | None], GatewayUow]) -> dict[str, Handler[GatewayUow]]:
    """`llm.cache.purge`: the tenantless hourly purge of expired entries."""

    async def run_purge(job: Job, _: GatewayUow) -> None:
        purged = await purge(uow)
        if purged:
            log.info("cache: purged %d expired entries", purged)

    return {PURGE: run_purge}


async def schedule_purge(uow: GatewayUow) -> None:
    """Register the hourly purge (idempotent: one row by key). Run at startup."""
    await uow.jobs.schedule(PURGE, cron=PURGE_CRON, key=PURGE)
