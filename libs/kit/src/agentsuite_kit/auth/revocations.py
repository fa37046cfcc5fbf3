"""identity's revocation list at every service: the principals (disabled service accounts,
deactivated users, revoked API keys) whose unexpired tokens must stop before they expire.

`Revocations` polls identity's `GET /v1/revocations` every `interval` seconds in the
background; `Revoking` wraps a service's verifier and refuses (401) any token whose
subject is listed. The bound: a principal disabled at identity is refused here within
`interval` plus one fetch (5 s by default), while identity answers. When it does not, the
last list stays in force and the tokens of principals disabled meanwhile live until they
expire (at most identity's access-token TTL): a verifier never fails closed on this list,
since an identity outage must not stop every service (the JWKS has its own staleness bound).
A poll, not a Kafka consumer: every process (not one per consumer group) needs the whole
list, from its first request on, which a fetch gives at start and a topic does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

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
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url
        self.interval = interval
        self.timeout = timeout
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

    async def refresh(self) -> bool:
        """Fetch the list now; False (the last list kept) when identity cannot say."""
        try:
            response = await self._client.get(self.url, timeout=self.timeout)
            response.raise_for_status()
            listed = response.json().get("subjects")
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
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
