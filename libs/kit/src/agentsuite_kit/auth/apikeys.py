"""API keys at any service: an `ask_...` bearer is exchanged at identity for a short JWT
(RFC 8693), which is cached and then verified like any other token.

Services never read identity's tables: they hold a key only long enough to exchange it,
keep the JWT by the key's SHA-256 (not the key) until shortly before it expires, and
verify it with their JWKS key set. So a revoked key stops working here when the cached
token runs out (`api_key_token_ttl` minus `margin`), and at identity at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from agentsuite_kit.auth.errors import AuthCode, AuthError
from agentsuite_kit.auth.principal import Principal

API_KEY_MARK = "ask_"
# the same URNs as identity's grants (the kit cannot import a service); not secrets
GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105
API_KEY_TOKEN_TYPE = "urn:agentsuite:params:oauth:token-type:api-key"  # noqa: S105
_MAX_KEY_LENGTH = 512  # identity's own bound on subject_token


class ApiKeyExchanger:
    """`await exchange(key)` -> an access JWT, from cache or from identity's token URL.

    A token is cached until `expires_in - margin` seconds after it was issued (half its
    life if that is shorter), at most `max_entries` of them, least recently used first
    out. Concurrent misses for one key share one request. Failures are not cached, but
    `invalid_grant` is, for `negative_ttl` seconds, so a client retrying a dead key in a
    loop costs identity one request per key per few seconds.
    """

    def __init__(
        self,
        token_url: str,
        *,
        client: httpx.AsyncClient | None = None,
        margin: float = 30.0,
        max_entries: int = 10_000,
        negative_ttl: float = 5.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self._client = client if client is not None else httpx.AsyncClient()
        self._owns_client = client is None
        self.margin = margin
        self.max_entries = max_entries
        self.negative_ttl = negative_ttl
        self.timeout = timeout
        self._clock = clock
        self._tokens: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._refused: OrderedDict[str, float] = OrderedDict()
        self._inflight: dict[str, asyncio.Task[str]] = {}
        self.requests = 0
        """Exchanges actually sent to identity (the cache's misses)."""

    async def aclose(self) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, AuthError):
                await task
        if self._owns_client:
            await self._client.aclose()

    async def exchange(self, key: str) -> str:
        if not key.startswith(API_KEY_MARK) or len(key) > _MAX_KEY_LENGTH:
            raise AuthError(AuthCode.MALFORMED, "not an API key")
        digest = hashlib.sha256(key.encode()).hexdigest()
        now = self._clock()
        cached = self._tokens.get(digest)
        if cached is not None:
            if cached[1] > now:
                self._tokens.move_to_end(digest)
                return cached[0]
            del self._tokens[digest]
        refused_until = self._refused.get(digest)
        if refused_until is not None:
            if refused_until > now:
                raise _invalid()
            del self._refused[digest]
        task = self._inflight.get(digest)
        if task is None:
            task = asyncio.create_task(self._fetch(key, digest), name="api-key-exchange")
            self._inflight[digest] = task
            task.add_done_callback(lambda _: self._inflight.pop(digest, None))
        # shield: one caller giving up must not cancel the request the others wait for
        return await asyncio.shield(task)

    async def _fetch(self, key: str, digest: str) -> str:
        self.requests += 1
        form = {
            "grant_type": GRANT_TOKEN_EXCHANGE,
            "subject_token": key,
            "subject_token_type": API_KEY_TOKEN_TYPE,
        }
        try:
            response = await self._client.post(self.token_url, data=form, timeout=self.timeout)
        except httpx.HTTPError:
            raise AuthError(
                AuthCode.JWKS_UNAVAILABLE, "identity cannot be reached to check the API key"
            ) from None
        body = _json(response)
        if response.status_code == 200:
            token = body.get("access_token")
            expires_in = body.get("expires_in")
            if not isinstance(token, str) or not isinstance(expires_in, int | float):
                raise AuthError(AuthCode.JWKS_UNAVAILABLE, "identity's token answer is malformed")
            life = expires_in - self.margin
            if life < expires_in / 2:
                life = expires_in / 2
            self._remember(self._tokens, digest, (token, self._clock() + life))
            return token
        error = body.get("error")
        if error == "invalid_grant":
            self._remember(self._refused, digest, self._clock() + self.negative_ttl)
            raise _invalid()
        if response.status_code == 429:
            # the key's own limit (identity's, across its processes): the caller's "slow
            # down", answered 429 with identity's Retry-After, never a bad credential or an
            # outage (503 would tell the client to retry against a limit it is over)
            raise AuthError(
                AuthCode.RATE_LIMITED,
                "the API key is over its rate limit",
                retry_after=_retry_after(response),
            )
        if response.status_code >= 500:
            # the key may be fine: identity's "not now", answered 503 with Retry-After
            raise AuthError(AuthCode.JWKS_UNAVAILABLE, "identity could not check the API key")
        raise AuthError(AuthCode.INVALID_CLAIM, "the API key was not accepted")

    def _remember(self, cache: OrderedDict[str, Any], digest: str, value: Any) -> None:
        cache[digest] = value
        cache.move_to_end(digest)
        while len(cache) > self.max_entries:
            cache.popitem(last=False)


def _invalid() -> AuthError:
    return AuthError(AuthCode.INVALID_CLAIM, "the API key is invalid, expired or revoked")


def _retry_after(response: httpx.Response) -> int:
    """identity's Retry-After in whole seconds (at least 1; 1 when absent or not a number)."""
    try:
        return max(1, int(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class TokenVerifier(Protocol):
    """What `KeyOrJwt` needs of a key set (the kit's `JwksKeySet` is one)."""

    async def authenticate(self, token: str) -> Principal: ...


class KeyOrJwt:
    """The kit's `Authenticator`: an `ask_...` bearer is exchanged, then verified; any
    other bearer goes to the key set as is."""

    def __init__(self, keyset: TokenVerifier, exchanger: ApiKeyExchanger) -> None:
        self.keyset = keyset
        self.exchanger = exchanger

    async def authenticate(self, token: str) -> Principal:
        if token.startswith(API_KEY_MARK):
            token = await self.exchanger.exchange(token)
        return await self.keyset.authenticate(token)
