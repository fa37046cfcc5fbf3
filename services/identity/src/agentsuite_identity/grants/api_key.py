"""The API-key exchange (RFC 8693): an `ask_...` key in, a short access JWT out.

Every way a key can be wrong (malformed, unknown prefix, wrong secret, revoked, expired,
tenant not active, owner not active) answers the same `invalid_grant`, so the answer
tells a caller nothing about which keys exist.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from agentsuite_identity.auth import access_claims
from agentsuite_identity.deps import Deps
from agentsuite_identity.domain import api_keys as domain
from agentsuite_identity.grants import (
    ACCESS_TOKEN_TYPE,
    API_KEY_TOKEN_TYPE,
    GRANT_TOKEN_EXCHANGE,
    OAuthError,
    TokenForm,
    TokenResponse,
)
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.auth.principal import PrincipalKind

_INVALID = "the API key is invalid, expired or revoked"
# last_used_at is written at most this often per key: not one write per exchange
TOUCH_EVERY = timedelta(minutes=1)


def _refused() -> OAuthError:
    return OAuthError("invalid_grant", _INVALID)


def _usable(row: Any, now: datetime) -> bool:
    if row.revoked_at is not None or row.tenant_status != "active":
        return False
    if row.expires_at is not None and row.expires_at <= now:
        return False
    # an org's key lives as long as the org; a user's as long as the user is active
    if row.org_id is not None and row.org_found is None:
        return False
    return row.user_id is None or row.owner_status == "active"


async def _capabilities(deps: Deps, uow: IdentityUow, row: Any) -> list[str]:
    if row.user_id is None:
        ceiling: frozenset[str] = domain.org_key_ceiling()
    else:
        # the owner's rights now, not when the key was made: a demotion narrows the key
        ceiling = await deps.access.capabilities(uow, row.user_id, row.org_id)
    return domain.effective(list(row.scopes), ceiling)


async def grant(  # noqa: C901  RFC 8693 exchange: one refusal per check of the form and the key, in the RFC's order
    form: TokenForm, deps: Deps, *, address: str | None, user_agent: str | None = None
) -> TokenResponse:
    if form.grant_type != GRANT_TOKEN_EXCHANGE:
        raise OAuthError("unsupported_grant_type", "this grant exchanges API keys only")
    if not form.subject_token:
        raise OAuthError("invalid_request", "subject_token is required")
    if form.subject_token_type != API_KEY_TOKEN_TYPE:
        raise OAuthError("invalid_request", f"subject_token_type must be {API_KEY_TOKEN_TYPE}")
    parsed = domain.parse(form.subject_token)
    if parsed is None:
        raise _refused()
    prefix, secret = parsed
    # the tenant is not known before the key is found: the one cross-tenant lookup
    async with deps.runtime.uow(None, all_tenants=True) as uow:
        located = await uow.api_keys.locate(prefix)
    if located is None:
        domain.secret_matches(secret, None)  # the same hashing work as a known prefix
        raise _refused()
    key_id, tenant_id = located
    settings = deps.settings
    async with deps.runtime.uow(tenant_id) as uow:
        row = await uow.api_keys.for_exchange(key_id)
        now = datetime.now(UTC)
        if row is None or not domain.secret_matches(secret, bytes(row.secret_hash)):
            raise _refused()
        if not _usable(row, now):
            raise _refused()
    if row.rate_limit_per_minute is not None:
        # its own short transaction, committed whatever follows: the exchange counts once
        # it is attempted, and the key's row lock is not held while capabilities are read
        async with deps.runtime.uow(None) as uow:
            wait = await deps.limiter.take(uow, key_id, row.rate_limit_per_minute)
            await uow.commit()
        if wait is not None:
            raise OAuthError(
                "slow_down",
                f"this key allows {row.rate_limit_per_minute} exchanges a minute",
                status=429,
                retry_after=wait,
            )
    async with deps.runtime.uow(tenant_id) as uow:
        capabilities = await _capabilities(deps, uow, row)
        if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
            await uow.api_keys.touch(key_id)
            await uow.commit()
    ttl = settings.api_key_token_ttl
    if row.expires_at is not None:
        # a token never outlives its key
        ttl = max(1, min(ttl, int(row.expires_at.timestamp() - time.time())))
    claims = access_claims(
        settings,
        subject=str(key_id),
        kind=PrincipalKind.API_KEY,
        tenant_id=tenant_id,
        capabilities=capabilities,
        ttl=ttl,
        owner=None if row.user_id is None else str(row.user_id),
        org=None if row.org_id is None else str(row.org_id),
        rl=row.rate_limit_per_minute,
    )
    signer = await deps.keyring.signer(lambda: deps.runtime.uow(None))
    return TokenResponse(
        access_token=deps.keyring.sign(signer, claims),
        expires_in=ttl,
        issued_token_type=ACCESS_TOKEN_TYPE,
    )
