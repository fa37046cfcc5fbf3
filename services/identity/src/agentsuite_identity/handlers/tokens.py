"""Sessions (refresh-token families) and access tokens: what the token grants share.

A refresh token is opaque (`asr_<random>`), stored as its SHA-256 (random, high-entropy:
a slow hash would buy nothing), and single use: each use marks it used and issues the
next one in the same family. A used token presented again means two parties hold the
family (a stolen token), so the whole family is revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from agentsuite_contracts.identity import SessionRevoked
from agentsuite_identity.auth import access_claims
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.auth.principal import PrincipalKind

if TYPE_CHECKING:
    from agentsuite_identity.deps import Deps

REFRESH_PREFIX = "asr_"


def hash_refresh(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def issue_refresh(
    uow: IdentityUow,
    *,
    user_id: UUID,
    org_id: UUID | None,
    ttl: int,
    family_id: UUID | None = None,
) -> str:
    """A new refresh token of `family_id` (a new family, i.e. a new sign-in, when None)."""
    token = f"{REFRESH_PREFIX}{secrets.token_urlsafe(32)}"
    await uow.refresh_tokens.add(
        token_id=uuid4(),
        family_id=family_id or uuid4(),
        user_id=user_id,
        org_id=org_id,
        token_hash=hash_refresh(token),
        expires_at=datetime.now(UTC) + timedelta(seconds=ttl),
    )
    return token


USER_AGENT_MAX = 512


@dataclass(frozen=True, slots=True)
class Client:
    """Who is on the other end of a token request, for the sessions' audit events: the
    address (the peer, or what a trusted proxy forwarded: the kit's `trusted_proxies`) and
    the User-Agent header, cut to USER_AGENT_MAX characters."""

    address: str | None = None
    user_agent: str | None = None

    @classmethod
    def of(cls, address: str | None, user_agent: str | None) -> Client:
        return cls(address, None if user_agent is None else user_agent[:USER_AGENT_MAX])


async def revoke_family(
    uow: IdentityUow, user_id: UUID, family_id: UUID, reason: str, client: Client | None = None
) -> bool:
    """Revoke one session; emits SessionRevoked when anything was still live. No commit.

    `client`: the request that revoked it (logout, reuse), when one did."""
    if await uow.refresh_tokens.revoke_family(family_id) == 0:
        return False
    seen = client or Client()
    uow.emit(
        SessionRevoked(
            user_id=user_id,
            family_id=family_id,
            reason=reason,
            client_address=seen.address,
            user_agent=seen.user_agent,
        )
    )
    return True


async def revoke_user_sessions(uow: IdentityUow, user_id: UUID, reason: str) -> int:
    """Revoke every live session of the user (in the uow's tenant), one event each.

    Does not commit: the caller (e.g. deactivation) commits it with its own change.
    """
    revoked = 0
    for family in await uow.refresh_tokens.live_families(user_id):
        revoked += await revoke_family(uow, user_id, family, reason)
    return revoked


async def sign_access(
    deps: Deps,
    *,
    subject: str,
    kind: PrincipalKind,
    tenant_id: UUID | None,
    capabilities: list[str],
    org_id: UUID | None = None,
    client_id: str | None = None,
) -> str:
    """An access token with identity's current signing key."""
    claims = access_claims(
        deps.settings,
        subject=subject,
        kind=kind,
        tenant_id=tenant_id,
        capabilities=capabilities,
        org=None if org_id is None else str(org_id),
        client_id=client_id or subject,
    )
    key = await deps.keyring.signer(lambda: deps.runtime.uow(None))
    return deps.keyring.sign(key, claims)


async def sign_user(
    deps: Deps, user_id: UUID, tenant_id: UUID, org_id: UUID | None, capabilities: frozenset[str]
) -> str:
    """A user's access token, acting in `org_id` when given, with `capabilities`."""
    return await sign_access(
        deps,
        subject=str(user_id),
        kind=PrincipalKind.USER,
        tenant_id=tenant_id,
        capabilities=sorted(capabilities),
        org_id=org_id,
    )
