"""The `password` grant: a user signs in with email, password and tenant slug.

Every way of failing (unknown tenant, suspended tenant, unknown user, inactive user, wrong
password, locked account) gives the same `invalid_grant` answer after the same work (one
argon2 verification, real or `waste`), so the answer tells nothing about which accounts
exist. Only a locked client address is answered differently (429 + Retry-After): it says
nothing about any account, and it tells a well-behaved client when to come back.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING
from uuid import UUID

from agentsuite_identity.grants import OAuthError, TokenForm, TokenResponse
from agentsuite_identity.handlers.tokens import issue_refresh, sign_access
from agentsuite_identity.repositories.credentials import SignIn
from agentsuite_identity.settings import IdentitySettings
from agentsuite_kit.auth.principal import PrincipalKind

if TYPE_CHECKING:
    from agentsuite_identity.deps import Deps

_FAILED = "The credentials are not valid."


@cache
def _throttle_key(kek: str) -> bytes:
    # a key of its own, derived from the KEK, so the stored keys are not guessable hashes
    # of an email (they would be with a plain SHA-256) and the KEK itself signs nothing
    return hmac.new(kek.encode(), b"identity.login_throttle.v1", hashlib.sha256).digest()


def throttle_keys(
    settings: IdentitySettings, tenant: str, email: str, address: str | None
) -> tuple[str, str | None]:
    """(account key, address key) as stored in login_throttle."""
    key = _throttle_key(settings.key_encryption_key.get_secret_value())

    def mac(text: str) -> str:
        return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()

    account = mac(f"acct|{tenant.lower()}|{email.lower()}")
    return account, (None if address is None else mac(f"addr|{address}"))


async def grant(form: TokenForm, deps: Deps, *, address: str | None) -> TokenResponse:
    s = deps.settings
    for name in ("username", "password", "tenant"):
        if not getattr(form, name):
            raise OAuthError("invalid_request", f"{name} is required for the password grant")
    email, password, slug = form.username or "", form.password or "", form.tenant or ""
    account_key, address_key = throttle_keys(s, slug, email, address)
    keys = [account_key] + ([address_key] if address_key else [])
    async with deps.runtime.uow(None) as uow:
        locked = await uow.login_throttle.locked(keys)
    if address_key is not None and address_key in locked:
        wait = max(1, int((locked[address_key] - datetime.now(UTC)).total_seconds()) + 1)
        raise OAuthError("invalid_grant", _FAILED, status=429, retry_after=wait)
    if account_key in locked:
        # a locked account answers exactly as a wrong password does (same body, status and
        # work): a distinct answer would tell an attacker the account exists
        await deps.passwords.waste(password)
        raise OAuthError("invalid_grant", _FAILED)
    issued = await _sign_in(deps, slug, email, password, form.org)
    if issued is None:
        await _failed(deps, account_key, address_key)
        raise OAuthError("invalid_grant", _FAILED)
    user_id, tenant_id, org_id, refresh = issued
    async with deps.runtime.uow(tenant_id) as uow:
        caps = await deps.access.capabilities(uow, user_id, org_id)
    async with deps.runtime.uow(None) as uow:
        await uow.login_throttle.reset(account_key)
        await uow.commit()
    token = await sign_access(
        deps,
        subject=str(user_id),
        kind=PrincipalKind.USER,
        tenant_id=tenant_id,
        capabilities=sorted(caps),
        org_id=org_id,
    )
    return TokenResponse(access_token=token, expires_in=s.access_token_ttl, refresh_token=refresh)


async def _sign_in(
    deps: Deps, slug: str, email: str, password: str, org: str | None
) -> tuple[UUID, UUID, UUID | None, str] | None:
    """(user, tenant, org, refresh token) when the credentials hold; None otherwise."""
    async with deps.runtime.uow(None, all_tenants=True) as uow:
        tenant = await SignIn(uow.session).tenant_by_slug(slug.lower())
    if tenant is None or tenant.status != "active":
        await deps.passwords.waste(password)
        return None
    tenant_id = UUID(str(tenant.tenant_id))
    async with deps.runtime.uow(tenant_id) as uow:
        reads = SignIn(uow.session)
        user = await reads.user_by_email(tenant_id, email)
        # an inactive user's password is still verified: the same work as for an active one
        ok, rehashed = await deps.passwords.verify(
            None if user is None else user.password_hash, password
        )
        if user is None or not ok or user.status != "active":
            return None
        user_id = UUID(str(user.user_id))
        org_id = None
        if org:
            org_id = await reads.member_org(user_id, org)
            if org_id is None:
                raise OAuthError("invalid_grant", "Not a member of that organization.")
        if rehashed is not None:
            await reads.set_password_hash(user_id, rehashed)
        refresh = await issue_refresh(
            uow, user_id=user_id, org_id=org_id, ttl=deps.settings.refresh_token_ttl
        )
        await uow.commit()
    return user_id, tenant_id, org_id, refresh


async def _failed(deps: Deps, account_key: str, address_key: str | None) -> None:
    s = deps.settings
    window = timedelta(seconds=s.login_window_seconds)
    lockout = timedelta(seconds=s.login_lockout_seconds)
    async with deps.runtime.uow(None) as uow:
        await uow.login_throttle.fail(
            account_key, limit=s.login_max_failures, window=window, lockout=lockout
        )
        if address_key is not None:
            await uow.login_throttle.fail(
                address_key, limit=s.login_address_max_failures, window=window, lockout=lockout
            )
        await uow.commit()
