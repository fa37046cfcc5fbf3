"""Verify JWTs locally against the issuer's JWKS, which a background task keeps fresh."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agentsuite_kit.auth.algorithms import ED25519, EDDSA, Ed25519Algorithm
from agentsuite_kit.auth.errors import AuthCode, AuthError
from agentsuite_kit.auth.principal import Principal

log = logging.getLogger(__name__)

# Asymmetric algorithms only, each with the key type (and curves) it may be verified with:
# a JWKS is public, so accepting HS* would let anyone sign with a published key as secret.
_KEY_SHAPES: dict[str, tuple[str, frozenset[str] | None]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", frozenset({"P-256"})),
    "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})),
    ED25519: ("OKP", frozenset({"Ed25519"})),
    EDDSA: ("OKP", frozenset({"Ed25519", "Ed448"})),
}
# RFC 9864: EdDSA on an Ed25519 key is the Ed25519 algorithm under its deprecated name, so a
# key published under either name verifies tokens signed under either (the curve is checked)
_SAME_ON_ED25519 = frozenset({ED25519, EDDSA})


class JwtConfig(BaseModel):
    """How tokens are verified and how fresh the issuer's keys must be.

    `refresh_interval`: the background task refetches the JWKS this often.
    `max_staleness`: keys last fetched longer ago than this are not trusted (a revoked key
    might still be cached), so tokens are refused with JWKS_UNAVAILABLE (503).
    `min_refresh_interval`: at most one request-driven fetch (unknown kid, stale cache) per
    this many seconds, so random kids cannot hammer the issuer.
    `refresh_wait`: how long a request with an unknown kid waits for that fetch.
    `retry_backoff`: first retry after a failed background fetch, doubling to the interval.
    `token_types`: accepted header `typ` values (RFC 9068 access tokens by default).
    `verified_cache`: how many verified tokens are remembered (0: none). A client sends the
    same bearer token with every request for its whole life, and an Ed25519 check plus
    PyJWT's parsing cost ~0.2 ms of CPU each time; a remembered token is answered from its
    claims while it has not expired and the key that signed it is still published.
    """

    model_config = ConfigDict(frozen=True)

    jwks_url: str
    issuer: str
    audience: str
    # EdDSA stays accepted until the keys issuers made before RFC 9864 have aged out
    algorithms: tuple[str, ...] = ("RS256", "ES256", ED25519, EDDSA)
    required_claims: tuple[str, ...] = ("exp", "iat", "sub", "iss", "aud")
    token_types: tuple[str, ...] = ("at+jwt",)
    leeway: float = Field(default=30.0, ge=0)
    refresh_interval: float = Field(default=300.0, gt=0)
    max_staleness: float = Field(default=1800.0, gt=0)
    min_refresh_interval: float = Field(default=30.0, ge=0)
    refresh_wait: float = Field(default=1.0, ge=0)
    retry_backoff: float = Field(default=1.0, gt=0)
    timeout: float = Field(default=5.0, gt=0)
    verified_cache: int = Field(default=10_000, ge=0)

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [a for a in value if a not in _KEY_SHAPES]
        if bad:
            raise ValueError(f"not an asymmetric JWS algorithm: {', '.join(bad)}")
        if not value:
            raise ValueError("at least one algorithm is required")
        return value

    @field_validator("token_types")
    @classmethod
    def _normalised_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("token_types: at least one accepted typ is required")
        return tuple(_media_type(t) for t in value)

    @model_validator(mode="after")
    def _stale_after_refresh(self) -> JwtConfig:
        if self.max_staleness <= self.refresh_interval:
            raise ValueError(
                f"max_staleness ({self.max_staleness}s) must exceed refresh_interval "
                f"({self.refresh_interval}s), or keys go stale between routine refreshes"
            )
        return self


def _media_type(typ: str) -> str:
    # RFC 7515 §4.1.9: case-insensitive, and "application/" is recommended to be omitted.
    lowered = typ.strip().lower()
    return lowered.removeprefix("application/")


def _fits(jwk: dict[str, Any], alg: str) -> bool:
    if jwk.get("use", "sig") != "sig":
        return False
    published = jwk.get("alg", alg)
    if published != alg and not (
        {published, alg} <= _SAME_ON_ED25519 and jwk.get("crv") == "Ed25519"
    ):
        return False
    kty, curves = _KEY_SHAPES[alg]
    if jwk.get("kty") != kty:
        return False
    return curves is None or jwk.get("crv") in curves


_DECODE_ERRORS: tuple[tuple[type[jwt.PyJWTError], AuthCode, str], ...] = (
    # Order matters: several of these subclass each other.
    (jwt.ExpiredSignatureError, AuthCode.EXPIRED, "token has expired"),
    (jwt.ImmatureSignatureError, AuthCode.NOT_YET_VALID, "token is not yet valid"),
    (jwt.InvalidAudienceError, AuthCode.WRONG_AUDIENCE, "token is not meant for this audience"),
    (jwt.InvalidIssuerError, AuthCode.WRONG_ISSUER, "token is from an unexpected issuer"),
    (jwt.MissingRequiredClaimError, AuthCode.MISSING_CLAIM, "token lacks a required claim"),
    (jwt.InvalidSignatureError, AuthCode.BAD_SIGNATURE, "token signature does not verify"),
    (jwt.InvalidAlgorithmError, AuthCode.ALG_NOT_ALLOWED, "token algorithm is not allowed"),
    (jwt.DecodeError, AuthCode.MALFORMED, "token is not a well-formed JWT"),
    (jwt.InvalidTokenError, AuthCode.INVALID_CLAIM, "token has an invalid claim"),
)


class JwksKeySet:
    """The issuer's keys by kid, kept fresh by a background task so requests never fetch.

    Startup does not fail when the issuer is unreachable, on purpose. Identity is handed its
    own JWKS URL and loads it in its lifespan, before it serves a byte; services start in
    any order; and consumers and the outbox relay need no token at all, so an identity
    outage must not crash-loop every service and stall event processing with it. Meanwhile
    token-bearing requests get 503 JWKS_UNAVAILABLE (Retry-After), `check()` fails
    readiness, and the background task retries with backoff until the keys load.

    A request only ever waits for a fetch when the cache cannot answer: an unknown kid, no
    keys yet, or keys older than `max_staleness`. It then starts a fetch (at most one per
    `min_refresh_interval`, shared by every waiting request) and waits for it at most
    `refresh_wait` seconds. That short wait is what lets the first token signed with a
    freshly rotated key pass instead of failing with 401; an attacker sending random kids
    gains nothing, since the throttle leaves them no fetch to wait for.

    `clock` is injectable so throttling and staleness are tested without sleeping; the
    background schedule runs on the event loop's own time. `source`, when given, replaces
    the HTTP fetch of `config.jwks_url`: the issuer itself reads its keys from its own
    database this way, since it cannot fetch its own URL before it serves.
    """

    def __init__(
        self,
        config: JwtConfig,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        source: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        self.config = config
        self._source = source
        self._client = client if client is not None else httpx.AsyncClient()
        self._owns_client = client is None
        self._clock = clock
        self._keys: dict[str, dict[str, Any]] = {}
        # a PyJWK, or for Ed25519 (which PyJWK cannot name yet) the public key itself
        self._parsed: dict[tuple[str, str], Any] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._failures = 0
        self._inflight: asyncio.Task[bool] | None = None
        self._task: asyncio.Task[None] | None = None
        # token -> (claims, exp, kid); insertion order is the eviction order
        self._verified: OrderedDict[str, tuple[dict[str, Any], float, str]] = OrderedDict()

    async def __aenter__(self) -> JwksKeySet:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> bool:
        """Load the keys once and keep refreshing them in the background.

        Returns whether keys were loaded; never raises for an unreachable issuer (see the
        class docstring for why). Waits at most `config.timeout` for the first fetch.
        """
        loaded = await self.refresh()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._keep_fresh(), name="jwks-refresh")
        return loaded

    async def aclose(self) -> None:
        for task in (self._task, self._inflight):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = None
        if self._owns_client:
            await self._client.aclose()

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    @property
    def age(self) -> float | None:
        """Seconds since the last successful fetch; None before the first."""
        return None if self._fetched_at is None else self._clock() - self._fetched_at

    async def check(self) -> None:
        """Readiness: raise unless keys are loaded and younger than `max_staleness`."""
        problem = self._unusable()
        if problem is not None:
            raise RuntimeError(problem)

    async def authenticate(self, token: str) -> Principal:
        return Principal.from_claims(await self.verify(token))

    async def verify(self, token: str) -> dict[str, Any]:
        """Return the claims of a valid token or raise `AuthError`."""
        remembered = self._remembered(token)
        if remembered is not None:
            return remembered
        claims, kid = await self._verify(token)
        self._remember(token, claims, kid)
        return dict(claims)

    def _remembered(self, token: str) -> dict[str, Any] | None:
        hit = self._verified.get(token)
        if hit is None:
            return None
        claims, exp, kid = hit
        # the same checks a hit must still pass: not expired, its key still published and
        # the key set fresh (a stale set answers 503 through the full path)
        if time.time() > exp + self.config.leeway or kid not in self._keys or self._unusable():
            del self._verified[token]
            return None
        return dict(claims)

    def _remember(self, token: str, claims: dict[str, Any], kid: str) -> None:
        size = self.config.verified_cache
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not size or not isinstance(exp, int | float) or not isinstance(nbf, int | float):
            return
        if nbf > time.time():
            return  # valid only thanks to the leeway: check it afresh next time
        self._verified[token] = (claims, float(exp), kid)
        while len(self._verified) > size:
            self._verified.popitem(last=False)

    async def _verify(self, token: str) -> tuple[dict[str, Any], str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError(AuthCode.MALFORMED, "token is not a well-formed JWT") from None
        # Details never echo header values: they are the caller's text and end up in headers.
        alg = header.get("alg")
        if not isinstance(alg, str):
            raise AuthError(AuthCode.MALFORMED, "token header has no alg")
        if alg.lower() == "none":
            raise AuthError(AuthCode.ALG_NONE, "unsigned tokens are not accepted")
        if alg not in self.config.algorithms:
            raise AuthError(AuthCode.ALG_NOT_ALLOWED, "token algorithm is not allowed")
        typ = header.get("typ")
        if not isinstance(typ, str) or _media_type(typ) not in self.config.token_types:
            # RFC 9068 §4: refresh and ID tokens must not pass for access tokens.
            expected = " or ".join(self.config.token_types)
            raise AuthError(AuthCode.WRONG_TYPE, f"token is not an access token (typ {expected})")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise AuthError(AuthCode.MALFORMED, "token header has no kid")

        key = await self._key(kid, alg)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=self.config.leeway,
                options={
                    "require": list(self.config.required_claims),
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.PyJWTError as exc:
            for kind, code, detail in _DECODE_ERRORS:
                if isinstance(exc, kind):
                    raise AuthError(code, detail) from None
            raise AuthError(AuthCode.MALFORMED, "token could not be verified") from None
        return claims, kid

    async def refresh(self) -> bool:
        """Fetch the JWKS now, joining a fetch already in flight; True if keys were loaded."""
        return await asyncio.shield(self._fetching())

    def _fetching(self) -> asyncio.Task[bool]:
        task = self._inflight
        if task is None or task.done():
            self._attempted_at = self._clock()
            task = asyncio.create_task(self._load(), name="jwks-fetch")
            self._inflight = task
        return task

    async def _catch_up(self) -> None:
        """The cache could not answer: fetch unless throttled, and wait briefly for it."""
        task = self._inflight
        if task is None or task.done():
            last = self._attempted_at
            if last is not None and self._clock() - last < self.config.min_refresh_interval:
                return
            task = self._fetching()
        with contextlib.suppress(TimeoutError):
            # shield: a request giving up must not cancel the fetch others wait for.
            await asyncio.wait_for(asyncio.shield(task), self.config.refresh_wait)

    def _unusable(self) -> str | None:
        if self._fetched_at is None:
            return "signing keys are not loaded yet"
        age = self._clock() - self._fetched_at
        if age > self.config.max_staleness:
            return f"signing keys are stale (last fetched {age:.0f}s ago)"
        return None

    async def _key(self, kid: str, alg: str) -> Any:
        if self._unusable() is not None or kid not in self._keys:
            await self._catch_up()
        problem = self._unusable()
        if problem is not None:
            raise AuthError(AuthCode.JWKS_UNAVAILABLE, problem)
        jwk = self._keys.get(kid)
        if jwk is None:
            raise AuthError(AuthCode.UNKNOWN_KID, "token is signed with an unknown key")
        if not _fits(jwk, alg):
            raise AuthError(AuthCode.ALG_MISMATCH, f"key {kid} is not a key for {alg}")
        parsed = self._parsed.get((kid, alg))
        if parsed is None:
            try:
                if alg == ED25519:
                    parsed = Ed25519Algorithm.from_jwk(jwk)
                else:
                    parsed = jwt.PyJWK(jwk, algorithm=alg)
            except (jwt.PyJWTError, ValueError):
                log.warning("jwks key unusable", extra={"kid": kid, "alg": alg})
                raise AuthError(AuthCode.ALG_MISMATCH, f"key {kid} is not usable") from None
            self._parsed[(kid, alg)] = parsed
        return parsed

    def _next_delay(self) -> float:
        if self._failures == 0:
            return self.config.refresh_interval
        backoff = self.config.retry_backoff * (1 << min(self._failures - 1, 30))
        return min(backoff, self.config.refresh_interval)

    async def _keep_fresh(self) -> None:
        while True:
            await asyncio.sleep(self._next_delay())
            await self.refresh()

    async def _load(self) -> bool:
        started = self._clock()
        try:
            keys = await self._fetch()
        except Exception:
            # Whatever went wrong, the background task must live on to try again.
            log.exception("jwks fetch failed unexpectedly", extra={"url": self.config.jwks_url})
            keys = None
        if keys is None:
            self._failures += 1
            return False
        if keys != self._keys:
            # a key withdrawn from the set must stop verifying at once, remembered or not
            self._verified.clear()
        self._keys = keys
        self._parsed = {}
        self._fetched_at = started
        self._failures = 0
        return True

    async def _fetch(self) -> dict[str, dict[str, Any]] | None:
        url = self.config.jwks_url
        try:
            if self._source is not None:
                document = await asyncio.wait_for(self._source(), self.config.timeout)
            else:
                response = await self._client.get(url, timeout=self.config.timeout)
                response.raise_for_status()
                document = response.json()
        except (httpx.HTTPError, ValueError, OSError, TimeoutError) as exc:
            # Keep the keys we have: a brief issuer outage must not log everyone out.
            log.warning("jwks fetch failed", extra={"url": url, "error": repr(exc)})
            return None
        listed = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(listed, list):
            log.warning("jwks document has no keys list", extra={"url": url})
            return None
        keys = {
            k["kid"]: k for k in listed if isinstance(k, dict) and isinstance(k.get("kid"), str)
        }
        log.info("jwks fetched", extra={"url": url, "kids": sorted(keys)})
        return keys
