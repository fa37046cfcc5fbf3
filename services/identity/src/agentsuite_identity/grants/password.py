"""The `password` grant: a user signs in with email, password and tenant slug.

Every way of failing (unknown tenant, suspended tenant, unknown user, inactive user, wrong
password, locked account) gives the same `invalid_grant` answer after the same work (one
argon2 verification, real or `waste`), so the answer tells nothing about which accounts
exist. Only a locked client address is answered differently (429 + Retry-After): it says
nothing about any account, and it tells a well-behaved client when to come back.

Each attempt is an event on `identity.sessions.v1`, with the client's address and user
agent: SignedIn in the transaction that starts the session, SignInFailed (never the
password) in the one that counts the failure, and SignInLockedOut from the failure that
sets a lock. A refused grant still commits its event and its count before it answers;
an attempt refused by a lock already in place is no event (its lock was one), so a locked
account or address costs one read per attempt, never a write.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from agentsuite_contracts.envelope import Subject
from agentsuite_contracts.identity import SignedIn, SignInFailed, SignInLockedOut
from agentsuite_identity.grants import OAuthError, TokenForm, TokenResponse
from agentsuite_identity.handlers.tokens import Client, issue_refresh, sign_user
from agentsuite_identity.repositories.credentials import SignIn
from agentsuite_identity.settings import IdentitySettings

if TYPE_CHECKING:
    from agentsuite_identity.deps import Deps
    from agentsuite_identity.uow import IdentityUow

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


@dataclass(frozen=True, slots=True)
class Attempt:
    """One sign-in attempt as its events tell it: the names given (lower-cased), the
    client, the throttle keys, and the tenant and user once they are known to exist."""

    email: str
    slug: str
    client: Client
    account_key: str
    address_key: str | None
    tenant_id: UUID | None = None
    user_id: UUID | None = None


async def grant(
    form: TokenForm, deps: Deps, *, address: str | None, user_agent: str | None = None
) -> TokenResponse:
    s = deps.settings
    for name in ("username", "password", "tenant"):
        if not getattr(form, name):
            raise OAuthError("invalid_request", f"{name} is required for the password grant")
    email, password, slug = form.username or "", form.password or "", form.tenant or ""
    account_key, address_key = throttle_keys(s, slug, email, address)
    attempt = Attempt(
        email.lower(), slug.lower(), Client.of(address, user_agent), account_key, address_key
    )
    keys = [account_key] + ([address_key] if address_key else [])
    async with deps.runtime.uow(None) as uow:
        locked = await uow.login_throttle.locked(keys)
    # a refusal under a lock writes nothing: the lock was announced once (SignInLockedOut,
    # from the failure that set it), and an attempt against it must not cost a transaction,
    # an outbox row and a Kafka record, or hammering a locked account makes audit traffic
    if address_key is not None and address_key in locked:
        wait = max(1, int((locked[address_key] - datetime.now(UTC)).total_seconds()) + 1)
        raise OAuthError("invalid_grant", _FAILED, status=429, retry_after=wait)
    if account_key in locked:
        # a locked account answers exactly as a wrong password does (same body, status and
        # work): a distinct answer would tell an attacker the account exists
        await deps.passwords.waste(password)
        raise OAuthError("invalid_grant", _FAILED)
    issued = await _sign_in(deps, attempt, password, form.org)
    if isinstance(issued, Attempt):
        await _refused(deps, issued, "invalid_credentials", count=True)
        raise OAuthError("invalid_grant", _FAILED)
    user_id, tenant_id, org_id, refresh = issued
    async with deps.runtime.uow(tenant_id) as uow:
        caps = await deps.access.capabilities(uow, user_id, org_id)
    async with deps.runtime.uow(None) as uow:
        await uow.login_throttle.reset(account_key)
        await uow.commit()
    token = await sign_user(deps, user_id, tenant_id, org_id, caps)
    return TokenResponse(access_token=token, expires_in=s.access_token_ttl, refresh_token=refresh)


async def _tenant(deps: Deps, slug: str) -> Any:
    async with deps.runtime.uow(None, all_tenants=True) as uow:
        return await SignIn(uow.session).tenant_by_slug(slug)


async def _sign_in(
    deps: Deps, attempt: Attempt, password: str, org: str | None
) -> tuple[UUID, UUID, UUID | None, str] | Attempt:
    """(user, tenant, org, refresh token) when the credentials hold; otherwise the attempt
    with what it found of the tenant and user."""
    tenant = await _tenant(deps, attempt.slug)
    if tenant is None or tenant.status != "active":
        await deps.passwords.waste(password)
        return (
            attempt if tenant is None else replace(attempt, tenant_id=UUID(str(tenant.tenant_id)))
        )
    tenant_id = UUID(str(tenant.tenant_id))
    async with deps.runtime.uow(tenant_id) as uow:
        reads = SignIn(uow.session)
        user = await reads.user_by_email(tenant_id, attempt.email)
        # an inactive user's password is still verified: the same work as for an active one
        ok, rehashed = await deps.passwords.verify(
            None if user is None else user.password_hash, password
        )
        found = replace(
            attempt, tenant_id=tenant_id, user_id=None if user is None else UUID(str(user.user_id))
        )
        if user is None or not ok or user.status != "active":
            return found
        user_id = UUID(str(user.user_id))
        org_id = None
        if org:
            org_id = await reads.member_org(user_id, org)
            if org_id is None:
                await _refused(deps, found, "not_a_member", count=False)
                raise OAuthError("invalid_grant", "Not a member of that organization.")
        if rehashed is not None:
            await reads.set_password_hash(user_id, rehashed)
        family = uuid4()
        refresh = await issue_refresh(
            uow,
            user_id=user_id,
            org_id=org_id,
            ttl=deps.settings.refresh_token_ttl,
            family_id=family,
        )
        client = attempt.client
        uow.emit(
            SignedIn(
                user_id=user_id,
                family_id=family,
                org_id=org_id,
                client_address=client.address,
                user_agent=client.user_agent,
            )
        )
        await uow.commit()
    return user_id, tenant_id, org_id, refresh


def _about(attempt: Attempt, scope: str = "account") -> dict[str, Any]:
    """Subject and key of an event without a user: the keyed hash of the account (or
    address) the throttle counts, never the email itself."""
    if attempt.user_id is not None and scope == "account":
        return {}
    key = attempt.account_key if scope == "account" else attempt.address_key
    assert key is not None
    return {"subject": Subject(type=f"sign_in_{scope}", id=key), "key": key}


async def _refused(deps: Deps, attempt: Attempt, reason: str, *, count: bool) -> None:
    """Emit SignInFailed, and with `count` add the failure to the throttle (emitting
    SignInLockedOut for a lock it sets), all in one transaction, committed."""
    client = attempt.client
    async with deps.runtime.uow(attempt.tenant_id) as uow:
        uow.emit(
            SignInFailed(
                user_id=attempt.user_id,
                email=attempt.email,
                tenant=attempt.slug,
                reason=reason,
                client_address=client.address,
                user_agent=client.user_agent,
            ),
            **_about(attempt),
        )
        if count:
            await _count(deps, uow, attempt)
        await uow.commit()


async def _count(deps: Deps, uow: IdentityUow, attempt: Attempt) -> None:
    s = deps.settings
    window = timedelta(seconds=s.login_window_seconds)
    lockout = timedelta(seconds=s.login_lockout_seconds)
    limits = [("account", attempt.account_key, s.login_max_failures)]
    if attempt.address_key is not None:
        limits.append(("address", attempt.address_key, s.login_address_max_failures))
    for scope, key, limit in limits:
        until = await uow.login_throttle.fail(key, limit=limit, window=window, lockout=lockout)
        if until is None:
            continue
        account = scope == "account"
        uow.emit(
            SignInLockedOut(
                scope="account" if account else "address",
                user_id=attempt.user_id if account else None,
                email=attempt.email if account else None,
                locked_until=until,
                client_address=attempt.client.address,
                user_agent=attempt.client.user_agent,
            ),
            **_about(attempt, scope),
        )
