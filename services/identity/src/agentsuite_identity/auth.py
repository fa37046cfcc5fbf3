"""How identity checks the tokens it issued: the kit's verifier fed from its own database,
plus a live look at the tenant and the user, so a suspension or deactivation bites here at
once (other services see it when the short-lived token expires)."""

from __future__ import annotations

import time
import uuid
from typing import Any
from uuid import UUID

from agentsuite_identity.deps import Deps
from agentsuite_identity.settings import IdentitySettings
from agentsuite_identity.signing import Keyring
from agentsuite_kit.auth import AuthCode, AuthError, JwksKeySet, JwtConfig, Principal
from agentsuite_kit.auth.principal import PrincipalKind


def jwt_config(settings: IdentitySettings) -> JwtConfig:
    return JwtConfig(
        jwks_url=f"{settings.base_url()}/.well-known/jwks.json",
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        algorithms=(settings.signing_algorithm,),
        leeway=settings.token_leeway,
        # the source is our own database: cheap, so a new kid is looked up at once
        min_refresh_interval=0.5,
        refresh_interval=60.0,
        max_staleness=600.0,
    )


def local_keyset(deps: Deps) -> JwksKeySet:
    """The kit's `JwksKeySet`, reading the JWKS from identity's database, not over HTTP.

    Its first load makes the first signing key when there is none, so identity is ready
    to sign and verify as soon as its keys are loaded.
    """

    async def source() -> dict[str, Any]:
        async with deps.runtime.uow(None) as uow:
            document = await Keyring.jwks(uow)
            if document["keys"]:
                return document
            await deps.keyring.ensure(uow)
        async with deps.runtime.uow(None) as uow:
            return await Keyring.jwks(uow)

    return JwksKeySet(jwt_config(deps.settings), source=source)


def access_claims(
    settings: IdentitySettings,
    *,
    subject: str,
    kind: PrincipalKind,
    tenant_id: UUID | None,
    capabilities: list[str],
    ttl: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The claims of an access token (RFC 9068 shape plus `tid`, `kind`, `caps`)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "kind": kind.value,
        "caps": sorted(capabilities),
        "iat": now,
        "nbf": now,
        "exp": now + (ttl if ttl is not None else settings.access_token_ttl),
        "jti": uuid.uuid4().hex,
        "client_id": extra.pop("client_id", subject),
    }
    if tenant_id is not None:
        claims["tid"] = str(tenant_id)
    claims.update({k: v for k, v in extra.items() if v is not None})
    return claims


class IdentityAuthenticator:
    """`authenticate(token)`: the kit's verification, then the tenant (and user) must still
    be active, checked against the database on every request."""

    def __init__(self, keyset: JwksKeySet, deps: Deps) -> None:
        self.keyset = keyset
        self.deps = deps

    async def authenticate(self, token: str) -> Principal:
        principal = await self.keyset.authenticate(token)
        if principal.tenant_id is None:
            return principal
        try:
            subject = UUID(principal.subject)
        except ValueError:
            raise AuthError(AuthCode.INVALID_CLAIM, "the token's subject is not an id") from None
        async with self.deps.runtime.uow(principal.tenant_id) as uow:
            active = await uow.tenants.principal_active(principal.kind, subject)
        if not active:
            raise AuthError(AuthCode.INVALID_CLAIM, "the token's tenant or user is not active")
        return principal
