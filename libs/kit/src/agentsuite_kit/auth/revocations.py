"""identity's revocation list at every service: the principals (disabled service accounts,
deactivated users, revoked API keys) whose unexpired tokens must stop before they expire.

`Revocations` polls identity's `GET /v1/revocations` every `interval` seconds in the
background; `Revoking` wraps a service's verifier and refuses (401) any token whose
subject is listed. The bound: a principal disabled at identity is refused here within
`interval` plus one fetch (5 s by default), while identity answers. When it does not, the
last list stays in force and the tokens of principals disabled meanwhile live until they
expire (at most identity's access-token TTL): a verifier never fails closed on this list,
since an identity outage must not stop every service (the JWKS has its own staleness bound).
That fail-open is deliberate and is the one gap: while identity is unreachable (or refuses
this service's credential), a principal disabled meanwhile is refused here only once its
token expires; every failed fetch is logged as a warning.
A poll, not a Kafka consumer: every process (not one per consumer group) needs the whole
list, from its first request on, which a fetch gives at start and a topic does not.

The list names every tenant's principals, so identity serves it only to a tenantless
service principal: `Revocations` reads the service's own credential file (client id and
secret, which identity writes at bootstrap) and trades it for a token with the
`client_credentials` grant, renewed at half its life and again whenever identity refuses
it. The file is read when a token is needed, so one written after this process started
is picked up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from agentsuite_kit.auth.apikeys import TokenVerifier
from agentsuite_kit.auth.errors import AuthCode, AuthError
from agentsuite_kit.auth.principal import Principal

log = logging.getLogger(__name__)


class Revocations:
    def __init__(
        self,
        url: str,
        *,
        interval: float = 5.0,
        timeout: float = 5.0,
        credentials: Path | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.interval = interval
        self.timeout = timeout
        self.credentials = credentials
        self._clock = clock
        self._token: str | None = None
        self._renew_at = 0.0
        self._client = client if client is not None else httpx.AsyncClient()
        self._owns_client = client is None
        self._subjects: frozenset[str] = frozenset()
        self._task: asyncio.Task[None] | None = None
        self.loaded = False
        """Whether a list was ever fetched."""

    def revoked(self, subject: str) -> bool:
        return subject in self._subjects

    async def start(self) -> None:
        """Fetch once (never raising: identity may not be up yet), then keep polling."""
        await self.refresh()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll(), name="revocations")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._owns_client:
            await self._client.aclose()

    async def _bearer(self) -> dict[str, str]:
        """The Authorization header of this service's token: renewed at half its life."""
        if self._token is None or self._clock() >= self._renew_at:
            self._token = None
            if self.credentials is None:
                raise ValueError("no credentials_file: identity refuses an anonymous reader")
            credential = json.loads(self.credentials.read_text())
            answer = await self._client.post(
                credential["token_url"],
                data={"grant_type": "client_credentials"},
                auth=(credential["client_id"], credential["client_secret"]),
                timeout=self.timeout,
            )
            answer.raise_for_status()
            body = answer.json()
            lifetime = float(body.get("expires_in", 60))
            self._token = str(body["access_token"])
            self._renew_at = self._clock() + lifetime / 2
        return {"Authorization": f"Bearer {self._token}"}

    async def _fetch(self) -> httpx.Response:
        response = await self._client.get(
            self.url, headers=await self._bearer(), timeout=self.timeout
        )
        if response.status_code == 401:
            # revoked, rotated or signed with a retired key: one fresh token, then give up
            self._token = None
            response = await self._client.get(
                self.url, headers=await self._bearer(), timeout=self.timeout
            )
        return response

    async def refresh(self) -> bool:
        """Fetch the list now; False (the last list kept) when identity cannot say."""
        try:
            response = await self._fetch()
            response.raise_for_status()
            listed = response.json().get("subjects")
        except (httpx.HTTPError, OSError, KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("revocation list fetch failed", extra={"url": self.url, "error": repr(exc)})
            return False
        if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
            log.warning("revocation list malformed", extra={"url": self.url})
            return False
        self._subjects = frozenset(listed)
        self.loaded = True
        return True

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.refresh()


class Revoking:
    """A verifier that also refuses the tokens of principals on identity's list."""

    def __init__(self, verifier: TokenVerifier, revocations: Revocations) -> None:
        self.verifier = verifier
        self.revocations = revocations

    async def authenticate(self, token: str) -> Principal:
        principal = await self.verifier.authenticate(token)
        if self.revocations.revoked(principal.subject):
            raise AuthError(
                AuthCode.INVALID_CLAIM, "the token's principal is disabled, deactivated or revoked"
            )
        return principal
