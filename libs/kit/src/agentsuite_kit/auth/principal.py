"""Who is calling and what they may do; pure, so services and tests use it without FastAPI."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from agentsuite_contracts.envelope import Actor
from agentsuite_kit.auth.errors import AuthCode, AuthError


class PrincipalKind(StrEnum):
    USER = "user"
    API_KEY = "api_key"
    SERVICE = "service"
    PLATFORM = "platform"


TENANTLESS_KINDS = frozenset({PrincipalKind.SERVICE, PrincipalKind.PLATFORM})
"""Kinds that may act without a tenant: bootstrap, cross-tenant audit, platform operations."""


def capability_matches(granted: str, wanted: str) -> bool:
    """`*` grants everything; `planning:*` grants every capability under `planning:`."""
    if granted == wanted or granted == "*":
        return True
    if granted.endswith(":*"):
        return wanted.startswith(granted[:-1])
    return False


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str
    tenant_id: UUID | None
    kind: PrincipalKind
    capabilities: frozenset[str]
    claims: Mapping[str, Any]
    org_id: UUID | None = None
    """The org the token is scoped to (claim `org`), or None for the whole tenant."""

    @property
    def tenant(self) -> UUID:
        """The tenant this principal acts for; a tenantless principal raises TENANT_REQUIRED."""
        if self.tenant_id is None:
            raise AuthError(AuthCode.TENANT_REQUIRED, "this principal acts for no tenant")
        return self.tenant_id

    def reaches(self, org_id: UUID | None) -> bool:
        """Whether an object of `org_id` (None: of no org) is within the token's scope.

        A token scoped to an org reaches that org's objects only; a service answers any
        other as not found, the way another tenant's object is. What it may do with
        objects of no org (the tenant's shared ones) is what its capabilities say: identity
        issues an org-scoped token only the capabilities that act within an org, never the
        tenant's administration (users, roles, policies, service accounts, the tenant)."""
        return self.org_id is None or org_id == self.org_id

    def has(self, capability: str) -> bool:
        return any(capability_matches(g, capability) for g in self.capabilities)

    def has_all(self, *capabilities: str) -> bool:
        return all(self.has(c) for c in capabilities)

    def missing(self, *capabilities: str) -> list[str]:
        return [c for c in capabilities if not self.has(c)]

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        """Build from verified claims: `sub`, `tid` (optional for service and platform kinds),
        optional `kind`, `org` (the org the token is scoped to), `caps` and/or `scope`."""
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise AuthError(AuthCode.MISSING_CLAIM, "token has no subject")
        try:
            # Tokens from before `kind` existed were all user tokens.
            kind = PrincipalKind(claims.get("kind", PrincipalKind.USER))
        except ValueError:
            raise AuthError(AuthCode.INVALID_CLAIM, "kind is not a known principal kind") from None
        tid = claims.get("tid")
        tenant_id: UUID | None = None
        if tid is not None:
            try:
                tenant_id = UUID(str(tid))
            except ValueError:
                raise AuthError(AuthCode.INVALID_CLAIM, "tid is not a UUID") from None
        elif kind not in TENANTLESS_KINDS:
            raise AuthError(AuthCode.MISSING_CLAIM, f"a {kind} token needs a tenant (tid)")
        org = claims.get("org")
        org_id: UUID | None = None
        if org is not None:
            try:
                org_id = UUID(str(org))
            except ValueError:
                raise AuthError(AuthCode.INVALID_CLAIM, "org is not a UUID") from None
            if tenant_id is None:
                raise AuthError(AuthCode.INVALID_CLAIM, "an org-scoped token needs a tenant")
        return cls(
            subject=sub,
            tenant_id=tenant_id,
            kind=kind,
            capabilities=_capabilities(claims),
            claims=dict(claims),
            org_id=org_id,
        )


def _capabilities(claims: Mapping[str, Any]) -> frozenset[str]:
    caps: set[str] = set()
    listed = claims.get("caps")
    if listed is not None:
        if not isinstance(listed, list) or not all(isinstance(c, str) for c in listed):
            raise AuthError(AuthCode.INVALID_CLAIM, "caps must be a list of strings")
        caps.update(listed)
    scope = claims.get("scope")
    if scope is not None:
        if not isinstance(scope, str):
            raise AuthError(AuthCode.INVALID_CLAIM, "scope must be a space-separated string")
        caps.update(scope.split())
    return frozenset(caps)


_ACTOR_KINDS: dict[PrincipalKind, Literal["user", "api_key", "service", "system"]] = {
    PrincipalKind.USER: "user",
    PrincipalKind.API_KEY: "api_key",
    PrincipalKind.SERVICE: "service",
    PrincipalKind.PLATFORM: "system",
}


def actor_of(principal: Principal) -> Actor:
    """The principal as the actor of the events its request causes."""
    return Actor(kind=_ACTOR_KINDS[principal.kind], id=principal.subject)
