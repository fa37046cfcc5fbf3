"""How identity checks the tokens it issued: the kit's verifier fed from its own database,
plus a live look at the tenant and the principal (tenantless accounts included), so a
suspension, deactivation or disabling bites here at once. Other services learn of a
disabled principal from identity's revocation list (`GET /v1/revocations`, which the kit
polls), or at the latest when the short-lived token expires."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from typing import Any
from uuid import UUID

from agentsuite_identity.changes import PLATFORM, Ticket
from agentsuite_identity.deps import Deps
from agentsuite_identity.settings import IdentitySettings
from agentsuite_identity.signing import SIGNING_ALGORITHMS, Keyring
from agentsuite_kit.auth import AuthCode, AuthError, JwksKeySet, JwtConfig, Principal
from agentsuite_kit.auth.principal import PrincipalKind
from agentsuite_kit.edge import subject_id


def jwt_config(settings: IdentitySettings) -> JwtConfig:
    return JwtConfig(
        jwks_url=f"{settings.base_url()}/.well-known/jwks.json",
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        algorithms=SIGNING_ALGORITHMS,
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


_REMEMBERED = 10_000
# an API key's token is checked every time: the key may expire or lose its org, which no
# notification announces
_CACHED_KINDS = frozenset({PrincipalKind.USER, PrincipalKind.SERVICE, PrincipalKind.PLATFORM})


class IdentityAuthenticator:
    """`authenticate(token)`: the kit's verification, then the tenant (and the principal)
    must still be active. That is read from the database, and remembered only while this
    process listens for changes and none came for the tenant (changes.py): a suspension or
    deactivation committed anywhere stops the next request here."""

    def __init__(self, keyset: JwksKeySet, deps: Deps) -> None:
        self.keyset = keyset
        self.deps = deps
        self._active: OrderedDict[tuple[UUID, PrincipalKind, UUID], Ticket] = OrderedDict()

    async def authenticate(self, token: str) -> Principal:
        principal = await self.keyset.authenticate(token)
        subject = subject_id(principal)
        if subject is None:
            raise AuthError(AuthCode.INVALID_CLAIM, "the token's subject is not an id")
        # a tenantless (platform or service) account is checked like a tenant's principal,
        # its standing keyed and announced under PLATFORM
        tenant = PLATFORM if principal.tenant_id is None else principal.tenant_id
        changes = self.deps.access.changes
        key = (tenant, principal.kind, subject)
        ticket = None
        if changes is not None and principal.kind in _CACHED_KINDS:
            if changes.valid(tenant, self._active.get(key)):
                return principal
            ticket = changes.ticket(tenant)
        if principal.tenant_id is None:
            async with self.deps.runtime.uow(None) as uow:
                active = await uow.service_accounts.tenantless_active(subject)
        else:
            async with self.deps.runtime.uow(tenant) as uow:
                active = await uow.tenants.principal_active(principal.kind, subject)
        if not active:
            raise AuthError(AuthCode.INVALID_CLAIM, "the token's tenant or user is not active")
        if ticket is not None:
            self._active[key] = ticket
            self._active.move_to_end(key)
            while len(self._active) > _REMEMBERED:
                self._active.popitem(last=False)
        return principal
