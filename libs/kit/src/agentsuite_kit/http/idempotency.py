"""Idempotency-Key for POSTs that create (draft-ietf-httpapi-idempotency-key-header).

The key is recorded in the route's own unit of work, with its effect and its response, so
a retry after a crash finds either nothing (the effect rolled back too) or the whole
response. A concurrent duplicate waits on the unique index until the first commits, then
replays; if the first rolls back, the duplicate goes ahead in its place.

    async with runtime.uow(principal.tenant_id) as uow:
        idem = await idempotency(request, uow.session, subject=principal.subject)
        if idem.replay is not None:
            return idem.replay
        ...  # the effect
        response = JSONResponse(created, status_code=201)
        await idem.save(response)
        await uow.commit()
    return response
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from fastapi import Request
from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from starlette.responses import Response

from agentsuite_kit.db.repository import Repository
from agentsuite_kit.db.scoped import ScopedConnection
from agentsuite_kit.db.tables import idempotency_keys as keys
from agentsuite_kit.http.problems import ProblemError

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_LENGTH = 255
TTL = timedelta(hours=24)

# A plain token or an RFC 8941 sf-string without escapes: visible ASCII but '"' and '\'
_KEY = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# Per-response and per-hop headers: a replay gets fresh ones
_UNSTORED = frozenset({"content-length", "date", "server", "x-correlation-id", "set-cookie"})


@dataclass(frozen=True)
class Stored:
    method: str
    path: str
    fingerprint: str
    status: int | None
    headers: list[list[str]]
    body: bytes | None


class IdempotencyKeys(Repository):
    """The stored responses of the session's tenant (RLS scopes them)."""

    async def claim(
        self, subject: str, key: str, method: str, path: str, fingerprint: str, ttl: timedelta
    ) -> Stored | None:
        """Take `key` for this request (None), or the request that already has it.

        Blocks while another transaction holds the key uncommitted: the answer is then
        whatever that one committed, or the key, if it rolled back.
        """
        tenant: UUID | None = self.session.info.get("tenant")
        mine = and_(keys.c.tenant_id == tenant, keys.c.subject == subject, keys.c.key == key)
        await self.session.execute(delete(keys).where(mine, keys.c.created_at < func.now() - ttl))
        taken = await self.session.scalar(
            insert(keys)
            .values(
                tenant_id=tenant,
                subject=subject,
                key=key,
                method=method,
                path=path,
                fingerprint=fingerprint,
            )
            .on_conflict_do_nothing()
            .returning(keys.c.id)
        )
        if taken is not None:
            return None
        row = (
            await self.session.execute(
                select(
                    keys.c.method,
                    keys.c.path,
                    keys.c.fingerprint,
                    keys.c.status,
                    keys.c.headers,
                    keys.c.body,
                ).where(mine)
            )
        ).one()
        return Stored(*row)

    async def save(
        self, subject: str, key: str, status: int, headers: list[list[str]], body: bytes
    ) -> None:
        tenant: UUID | None = self.session.info.get("tenant")
        await self.session.execute(
            update(keys)
            .where(keys.c.tenant_id == tenant, keys.c.subject == subject, keys.c.key == key)
            .values(status=status, headers=headers, body=body)
        )

    async def prune(self, older_than: timedelta = TTL) -> int:
        """Delete keys older than `older_than` (in an all_tenants unit of work: every
        tenant's); expired keys are also replaced on reuse, so pruning only frees space."""
        done = await self.session.execute(
            delete(keys).where(keys.c.created_at < func.now() - older_than).returning(keys.c.id)
        )
        return len(done.all())


def parse_key(value: str) -> str:
    """The key of an Idempotency-Key value (a token or a quoted string); 400 if invalid."""
    key = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if not key:
        raise ProblemError(400, f"{HEADER}: must not be empty")
    if len(key) > MAX_LENGTH:
        raise ProblemError(400, f"{HEADER}: at most {MAX_LENGTH} characters, got {len(key)}")
    if not _KEY.fullmatch(key):
        raise ProblemError(400, f"{HEADER}: only visible ASCII, without '\"' or '\\'")
    return key


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass
class Idempotency:
    """One request's key: `replay` is the stored response to return, if there is one."""

    repo: IdempotencyKeys | None
    subject: str
    key: str | None
    replay: Response | None = None

    async def save(self, response: Response) -> Response:
        """Store `response` with the key, in the unit of work that commits the effect."""
        if self.repo is None or self.key is None:
            return response
        body = getattr(response, "body", None)
        if not isinstance(body, bytes):
            raise TypeError("save: only a response with its body in memory can be replayed")
        headers = [
            [k.decode("latin-1"), v.decode("latin-1")]
            for k, v in response.raw_headers
            if k.decode("latin-1").lower() not in _UNSTORED
        ]
        await self.repo.save(self.subject, self.key, response.status_code, headers, body)
        return response


async def idempotency(
    request: Request,
    session: ScopedConnection,
    *,
    subject: str,
    required: bool = False,
    ttl: timedelta = TTL,
) -> Idempotency:
    """Claim the request's Idempotency-Key in `session`'s transaction (see module doc).

    No header: nothing is stored, or a 400 when `required`. Same key and body: the stored
    response with `Idempotent-Replayed: true`. Same key, other body, method or path: 422.
    """
    value = request.headers.get(HEADER)
    if value is None:
        if required:
            raise ProblemError(400, f"{HEADER}: required for this request")
        return Idempotency(None, subject, None)
    key = parse_key(value.strip())
    repo = IdempotencyKeys(session)
    body, query = await request.body(), request.url.query
    # the query is part of the request (an import's `prefix`): the same key with another
    # one is another request; without one the digest is the body's, as keys stored before
    digest = fingerprint(body + b"\0?" + query.encode() if query else body)
    method, path = request.method, request.url.path
    stored = await repo.claim(subject, key, method, path, digest, ttl)
    idem = Idempotency(repo, subject, key)
    if stored is None:
        return idem
    if (stored.method, stored.path, stored.fingerprint) != (method, path, digest):
        raise ProblemError(422, f"{HEADER}: already used for a different request; send a new key")
    if stored.status is None or stored.body is None:
        # committed without a response: the route did not save one
        raise ProblemError(409, f"{HEADER}: the first request with this key has no response")
    idem.replay = _replay(stored)
    return idem


def _replay(stored: Stored) -> Response:
    response = Response(content=stored.body, status_code=stored.status or 200)
    response.raw_headers = [
        *(
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in stored.headers
            if k.lower() != "content-length"
        ),
        *((k, v) for k, v in response.raw_headers if k == b"content-length"),
        (REPLAYED.lower().encode(), b"true"),
    ]
    return response
