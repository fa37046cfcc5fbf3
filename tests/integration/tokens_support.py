"""Access tokens as identity would sign them, from a local Ed25519 key, and the keyset a
service under test trusts them by (what identity's JWKS would serve): what the harnesses of
services that verify identity's tokens share. Identity's own tests sign with its keyring."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519

from agentsuite_kit.auth import JwksKeySet, JwtConfig
from tests.integration.jwks_support import ed_jwk

ISSUER = "agentsuite-identity"
AUDIENCE = "agentsuite"


@dataclass(frozen=True)
class Signer:
    """One service's test signing key, under its own kid, and the capabilities its tokens
    hold unless told otherwise (every capability the service's routes ask for)."""

    kid: str
    capabilities: list[str]
    key: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [ed_jwk(self.key, self.kid)]}

    def token(
        self,
        tenant_id: UUID | None,
        capabilities: list[str] | None = None,
        *,
        subject: str | UUID | None = None,
        kind: str = "user",
        ttl: int = 600,
        **extra: Any,
    ) -> str:
        """An access token as identity would sign it (kind `user` unless told otherwise)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(subject or uuid.uuid4()),
            "kind": kind,
            "caps": capabilities if capabilities is not None else self.capabilities,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }
        if tenant_id is not None:
            claims["tid"] = str(tenant_id)
        claims.update({k: v for k, v in extra.items() if v is not None})
        headers = {"kid": self.kid, "typ": "at+jwt"}
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers=headers)

    def auth(
        self, tenant_id: UUID | None, capabilities: list[str] | None = None, **kw: Any
    ) -> dict[str, str]:
        """`Authorization` header of `token(tenant_id, capabilities, subject=..., ...)`."""
        return {"Authorization": f"Bearer {self.token(tenant_id, capabilities, **kw)}"}

    def keyset(self) -> JwksKeySet:
        """A keyset that trusts this key alone, served without a JWKS server."""

        async def source() -> dict[str, Any]:
            return self.jwks()

        config = JwtConfig(jwks_url="http://identity.test/jwks", issuer=ISSUER, audience=AUDIENCE)
        return JwksKeySet(config, source=source)
