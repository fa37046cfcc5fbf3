"""Service accounts: machine principals that get tokens with `client_credentials`.

`platform` accounts (the operator, automation) and `service` accounts (one per Agentsuite
service) belong to no tenant: create them in `uow(None)`. `tenant` accounts belong to the
unit of work's tenant and may carry only tenant capabilities their creator holds.

The secret is random and high-entropy, so a plain SHA-256 is the right hash for it (a slow
password hash buys nothing against guessing 256 random bits and costs every token
request); it is returned once and never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal
from uuid import UUID, uuid4

from agentsuite_contracts.identity import (
    ServiceAccountCreated,
    ServiceAccountDisabled,
    ServiceAccountSecretRotated,
)
from agentsuite_identity.deps import Deps
from agentsuite_identity.domain import capabilities as catalogue
from agentsuite_identity.domain.errors import Conflict, Forbidden, Invalid, NotFound
from agentsuite_identity.uow import IdentityUow

Kind = Literal["platform", "service", "tenant"]
KINDS: tuple[Kind, ...] = ("platform", "service", "tenant")
CLIENT_ID_PREFIX = "sa_"
MAX_NAME = 100
MAX_CAPABILITIES = 200


@dataclass(frozen=True)
class NewServiceAccount:
    """`tenant_id` None for platform and service kinds. `creator_capabilities` (the
    caller's) bounds a tenant account's grant. `commit=False` leaves the commit to the
    caller (a route that stores an idempotent response in the same transaction)."""

    name: str
    kind: Kind
    capabilities: list[str]
    tenant_id: UUID | None = None
    creator_capabilities: Collection[str] | None = None
    commit: bool = True


@dataclass(frozen=True)
class RotateSecret:
    """With `caller_capabilities` (a route's caller), only someone who holds all of the
    account's capabilities may take its secret, as for creating one."""

    account_id: UUID
    caller_capabilities: Collection[str] | None = None
    commit: bool = True


@dataclass(frozen=True)
class DisableAccount:
    account_id: UUID
    commit: bool = True


def new_client_id() -> str:
    return f"{CLIENT_ID_PREFIX}{secrets.token_hex(12)}"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(stored_hash: str, secret: str) -> bool:
    """Constant-time: the comparison's duration does not tell how much of it matched."""
    return hmac.compare_digest(stored_hash.encode(), hash_secret(secret).encode())


def check_capabilities(
    kind: Kind, capabilities: list[str], creator: Collection[str] | None
) -> list[str]:
    """The capabilities, deduplicated and sorted, or Invalid/Forbidden naming the field."""
    if len(capabilities) > MAX_CAPABILITIES:
        raise Invalid("invalid", f"at most {MAX_CAPABILITIES} capabilities", field="capabilities")
    caps = sorted(set(capabilities))
    if kind == "platform":
        bad = catalogue.unknown(caps, platform=True)
    elif kind == "service":
        # a service's account acts across tenants: everything but the whole-platform grant
        bad = ["*"] if "*" in caps else catalogue.unknown(caps, platform=True)
    else:
        # `*` would also match platform capabilities in a verifier: a tenant account names
        # what it gets, at most `<resource>:*`
        bad = ["*"] if "*" in caps else catalogue.unknown(caps)
    if bad:
        raise Invalid("invalid", f"unknown capabilities: {', '.join(bad)}", field="capabilities")
    if kind == "tenant" and creator is not None:
        held = list(creator)
        beyond = sorted(
            c
            for c in catalogue.expand(caps)
            if not any(catalogue.matches(pattern, c) for pattern in held)
        )
        if beyond:
            raise Forbidden(
                "forbidden",
                f"cannot grant capabilities the creator lacks: {', '.join(beyond)}",
                field="capabilities",
            )
    return caps


async def create_service_account(
    cmd: NewServiceAccount, uow: IdentityUow, deps: Deps
) -> tuple[UUID, str, str]:
    """(id, client_id, secret); the secret is shown once. `uow` must be `uow(None)` for
    platform/service kinds and `uow(tenant_id)` for a tenant account."""
    kind, capabilities, tenant_id = cmd.kind, cmd.capabilities, cmd.tenant_id
    name = cmd.name.strip()
    if not name or len(name) > MAX_NAME:
        raise Invalid("invalid", f"name must be 1 to {MAX_NAME} characters", field="name")
    if kind not in KINDS:
        raise Invalid("invalid", f"kind must be one of {', '.join(KINDS)}", field="kind")
    if (kind == "tenant") != (tenant_id is not None):
        raise Invalid(
            "invalid", "a tenant account needs a tenant; other kinds have none", field="kind"
        )
    caps = check_capabilities(kind, capabilities, cmd.creator_capabilities)
    if await uow.service_accounts.by_name(name) is not None:
        raise Conflict("conflict", f"a service account named {name!r} exists", field="name")
    account_id, client_id, secret = uuid4(), new_client_id(), new_secret()
    await uow.service_accounts.add(
        account_id,
        tenant_id=tenant_id,
        name=name,
        kind=kind,
        client_id=client_id,
        secret_hash=hash_secret(secret),
        capabilities=caps,
    )
    uow.emit(
        ServiceAccountCreated(
            service_account_id=account_id,
            name=name,
            client_id=client_id,
            kind=kind,
            capabilities=caps,
        )
    )
    if cmd.commit:
        await uow.commit()
    return account_id, client_id, secret


async def rotate_secret(cmd: RotateSecret, uow: IdentityUow, deps: Deps) -> str:
    """A new secret (shown once); the old one stops working when this commits. The
    secret is the account's capabilities (see `RotateSecret`)."""
    account_id, caller_capabilities = cmd.account_id, cmd.caller_capabilities
    row = await uow.service_accounts.get(account_id, lock=True)
    if row is None:
        raise NotFound("not_found", "no such service account", field="service_account_id")
    if caller_capabilities is not None:
        held = list(caller_capabilities)
        granted = catalogue.expand(row.capabilities, platform=row.kind != "tenant")
        if any(not any(catalogue.matches(p, c) for p in held) for c in granted):
            raise Forbidden(
                "forbidden",
                "the account holds capabilities the caller lacks",
                field="service_account_id",
            )
    if row.status != "active":
        raise Conflict("conflict", "the service account is disabled", field="service_account_id")
    secret = new_secret()
    await uow.service_accounts.set_secret(account_id, hash_secret(secret))
    uow.emit(ServiceAccountSecretRotated(service_account_id=account_id, client_id=row.client_id))
    if cmd.commit:
        await uow.commit()
    return secret


async def disable(cmd: DisableAccount, uow: IdentityUow, deps: Deps) -> bool:
    """Disable the account (no new tokens; a tenant account's tokens stop at identity).

    False when it was already disabled (nothing changes, no event)."""
    account_id = cmd.account_id
    row = await uow.service_accounts.get(account_id, lock=True)
    if row is None:
        raise NotFound("not_found", "no such service account", field="service_account_id")
    if row.status == "disabled":
        return False
    await uow.service_accounts.set_status(account_id, "disabled")
    uow.emit(ServiceAccountDisabled(service_account_id=account_id, client_id=row.client_id))
    if cmd.commit:
        await uow.commit()
    return True
