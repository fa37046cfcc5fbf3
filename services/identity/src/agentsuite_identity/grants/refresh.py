"""The `refresh_token` grant: trade a refresh token for a new access token and the next
refresh token of the same family (rotation on every use).

A token already used is the sign of a copy in someone else's hands: the whole family is
revoked (SessionRevoked, reason `reuse_detected`), so the legitimate holder's newer token
stops working too and the user signs in again. Every such replay is a RefreshTokenReused
event with the address and user agent of whoever presented it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from agentsuite_contracts.identity import RefreshTokenReused
from agentsuite_identity.grants import OAuthError, TokenForm, TokenResponse
from agentsuite_identity.handlers.tokens import (
    Client,
    hash_refresh,
    issue_refresh,
    revoke_family,
    sign_user,
)
from agentsuite_kit.auth.principal import PrincipalKind

if TYPE_CHECKING:
    from agentsuite_identity.deps import Deps

_INVALID = "The refresh token is not valid."


async def grant(
    form: TokenForm, deps: Deps, *, address: str | None, user_agent: str | None = None
) -> TokenResponse:
    if not form.refresh_token:
        raise OAuthError("invalid_request", "refresh_token is required")
    digest = hash_refresh(form.refresh_token)
    async with deps.runtime.uow(None, all_tenants=True) as uow:
        tenant_id = await uow.refresh_tokens.tenant_of(digest)
    if tenant_id is None:
        raise OAuthError("invalid_grant", _INVALID)
    async with deps.runtime.uow(tenant_id) as uow:
        row = await uow.refresh_tokens.claim(digest)
        if row is None:
            raise OAuthError("invalid_grant", _INVALID)
        user_id, family_id = UUID(str(row.user_id)), UUID(str(row.family_id))
        org_id = None if row.org_id is None else UUID(str(row.org_id))
        if row.used_at is not None:
            # checked before revocation: a spent token presented after its family was
            # revoked is still someone replaying it, which the audit trail must show
            client = Client.of(address, user_agent)
            uow.emit(
                RefreshTokenReused(
                    user_id=user_id,
                    family_id=family_id,
                    client_address=client.address,
                    user_agent=client.user_agent,
                )
            )
            await revoke_family(uow, user_id, family_id, "reuse_detected", client)
            await uow.commit()
            raise OAuthError("invalid_grant", _INVALID)
        if row.revoked_at is not None:
            raise OAuthError("invalid_grant", _INVALID)
        if row.expires_at is not None and row.expires_at <= datetime.now(UTC):
            raise OAuthError("invalid_grant", _INVALID)
        if not await uow.tenants.principal_active(PrincipalKind.USER, user_id):
            raise OAuthError("invalid_grant", _INVALID)
        await uow.refresh_tokens.mark_used(row.token_id)
        refresh = await issue_refresh(
            uow,
            user_id=user_id,
            org_id=org_id,
            ttl=deps.settings.refresh_token_ttl,
            family_id=family_id,
        )
        # recomputed on every refresh: a role taken away shows in the next access token
        caps = await deps.access.capabilities(uow, user_id, org_id)
        await uow.commit()
    token = await sign_user(deps, user_id, tenant_id, org_id, caps)
    return TokenResponse(
        access_token=token, expires_in=deps.settings.access_token_ttl, refresh_token=refresh
    )
