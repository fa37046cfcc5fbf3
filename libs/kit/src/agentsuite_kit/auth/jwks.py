"""Verify JWTs locally against the issuer's JWKS, refetching only when keys rotate or age out."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
}


class JwtConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    jwks_url: str
    issuer: str
    audience: str
    algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA")
    required_claims: tuple[str, ...] = ("exp", "iat", "sub", "iss", "aud")
    leeway: float = Field(default=30.0, ge=0)
    min_refresh_interval: float = Field(default=30.0, ge=0)
    ttl: float = Field(default=600.0, gt=0)
    timeout: float = Field(default=5.0, gt=0)

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [a for a in value if a not in _KEY_SHAPES]
        if bad:
            raise ValueError(f"not an asymmetric JWS algorithm: {', '.join(bad)}")
        if not value:
            raise ValueError("at least one algorithm is required")
        return value


def _fits(jwk: dict[str, Any], alg: str) -> bool:
    if jwk.get("use", "sig") != "sig":
        return False
    if jwk.get("alg", alg) != alg:
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
    """Keys cached by kid; an unknown kid or an aged-out cache triggers one shared, throttled fetch.

    `clock` is injectable so throttling and TTL can be tested without sleeping.
    """

    def __init__(
        self,
        config: JwtConfig,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._client = client if client is not None else httpx.AsyncClient()
        self._owns_client = client is None
        self._clock = clock
        self._keys: dict[str, dict[str, Any]] = {}
        self._parsed: dict[tuple[str, str], jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._attempts = 0
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> JwksKeySet:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    async def authenticate(self, token: str) -> Principal:
        return Principal.from_claims(await self.verify(token))

    async def verify(self, token: str) -> dict[str, Any]:
        """Return the claims of a valid token or raise `AuthError`."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError(AuthCode.MALFORMED, "token is not a well-formed JWT") from None
        alg = header.get("alg")
        if not isinstance(alg, str):
            raise AuthError(AuthCode.MALFORMED, "token header has no alg")
        if alg.lower() == "none":
            raise AuthError(AuthCode.ALG_NONE, "unsigned tokens are not accepted")
        if alg not in self.config.algorithms:
            raise AuthError(AuthCode.ALG_NOT_ALLOWED, f"algorithm {alg} is not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise AuthError(AuthCode.MALFORMED, "token header has no kid")

        key = await self._key(kid, alg)
        try:
            return jwt.decode(
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

    async def refresh(self) -> None:
        """Refetch the JWKS unless another fetch ran within `min_refresh_interval`."""
        seen = self._attempts
        async with self._lock:
            if self._attempts != seen:
                return  # a caller we queued behind already fetched
            now = self._clock()
            if (
                self._attempted_at is not None
                and now - self._attempted_at < self.config.min_refresh_interval
            ):
                return
            self._attempts += 1
            self._attempted_at = now
            keys = await self._fetch()
            if keys is not None:
                self._keys = keys
                self._parsed = {}
                self._fetched_at = now

    async def _key(self, kid: str, alg: str) -> jwt.PyJWK:
        if self._fetched_at is None or self._clock() - self._fetched_at >= self.config.ttl:
            await self.refresh()
        jwk = self._keys.get(kid)
        if jwk is None:
            await self.refresh()
            jwk = self._keys.get(kid)
        if jwk is None:
            if self._fetched_at is None:
                raise AuthError(AuthCode.JWKS_UNAVAILABLE, "signing keys are unavailable")
            raise AuthError(AuthCode.UNKNOWN_KID, "token is signed with an unknown key")
        if not _fits(jwk, alg):
            raise AuthError(AuthCode.ALG_MISMATCH, f"key {kid} is not a key for {alg}")
        parsed = self._parsed.get((kid, alg))
        if parsed is None:
            try:
                parsed = jwt.PyJWK(jwk, algorithm=alg)
            except jwt.PyJWTError:
                log.warning("jwks key unusable", extra={"kid": kid, "alg": alg})
                raise AuthError(AuthCode.ALG_MISMATCH, f"key {kid} is not usable") from None
            self._parsed[(kid, alg)] = parsed
        return parsed

    async def _fetch(self) -> dict[str, dict[str, Any]] | None:
        url = self.config.jwks_url
        try:
            response = await self._client.get(url, timeout=self.config.timeout)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
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
