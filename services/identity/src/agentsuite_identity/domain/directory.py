"""The directory's rules: what a slug, email, name, password and attribute set may be, the
lifecycles of tenants, users and invitations, and the invitation token's shape.

Every check raises `Invalid` naming the field, so the API answers 422 pointing at it.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from email_validator import EmailNotValidError, validate_email

from agentsuite_contracts.identity import TenantStatus as TenantStatus
from agentsuite_contracts.identity import UserStatus as UserStatus
from agentsuite_identity.domain.errors import Conflict, Invalid

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
EMAIL_MAX = 254
NAME_MAX = 200
PASSWORD_MIN = 12
PASSWORD_MAX = 1024
ATTRIBUTES_MAX_BYTES = 4096
ORG_ROLES = ("owner", "admin", "member")
DEFAULT_ORG_SLUG = "default"


def slug(value: str, field: str = "slug") -> str:
    if not SLUG.fullmatch(value):
        raise Invalid(
            "invalid",
            "2..63 characters of a-z, 0-9 and '-', starting with a letter or digit",
            field=field,
        )
    return value


def email(value: str, field: str = "email") -> str:
    """The address, lower-cased; syntax only (no DNS: identity never depends on the network
    to create an account)."""
    if len(value) > EMAIL_MAX:
        raise Invalid("invalid", f"at most {EMAIL_MAX} characters", field=field)
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid("invalid", f"not an email address: {exc}", field=field) from None
    normalised = checked.normalized.lower()
    if len(normalised) > EMAIL_MAX:
        raise Invalid("invalid", f"at most {EMAIL_MAX} characters", field=field)
    return normalised


def name(value: str, field: str = "name") -> str:
    """1..200 characters, no control characters (they break logs and headers downstream)."""
    stripped = value.strip()
    if not stripped:
        raise Invalid("invalid", "must not be empty", field=field)
    if len(stripped) > NAME_MAX:
        raise Invalid("invalid", f"at most {NAME_MAX} characters", field=field)
    if any(unicodedata.category(ch) == "Cc" for ch in stripped):
        raise Invalid("invalid", "must not contain control characters", field=field)
    return stripped


def password(value: str, field: str = "password") -> str:
    if len(value) < PASSWORD_MIN:
        raise Invalid("invalid", f"at least {PASSWORD_MIN} characters", field=field)
    if len(value) > PASSWORD_MAX:
        raise Invalid("invalid", f"at most {PASSWORD_MAX} characters", field=field)
    return value


def attributes(value: dict[str, Any], field: str = "attributes") -> dict[str, Any]:
    """A small flat-ish JSON object: ABAC reads it as `subject.*`, so it stays bounded."""
    try:
        encoded = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        raise Invalid("invalid", "must be a JSON object", field=field) from None
    if len(encoded.encode()) > ATTRIBUTES_MAX_BYTES:
        raise Invalid("invalid", f"at most {ATTRIBUTES_MAX_BYTES} bytes as JSON", field=field)
    return value


def org_role(value: str, field: str = "role") -> str:
    if value not in ORG_ROLES:
        raise Invalid("invalid", f"one of {', '.join(ORG_ROLES)}", field=field)
    return value


# --- lifecycles ------------------------------------------------------------------------------


_TENANT_MOVES: dict[TenantStatus, frozenset[TenantStatus]] = {
    TenantStatus.ACTIVE: frozenset({TenantStatus.SUSPENDED, TenantStatus.DELETED}),
    TenantStatus.SUSPENDED: frozenset({TenantStatus.ACTIVE, TenantStatus.DELETED}),
    TenantStatus.DELETED: frozenset(),
}

_USER_MOVES: dict[UserStatus, frozenset[UserStatus]] = {
    UserStatus.INVITED: frozenset({UserStatus.ACTIVE, UserStatus.DEACTIVATED}),
    UserStatus.ACTIVE: frozenset({UserStatus.DEACTIVATED}),
    UserStatus.DEACTIVATED: frozenset(),
}


def tenant_move(current: str, target: TenantStatus) -> TenantStatus:
    """The new status, or `Conflict` if a tenant in `current` cannot go to `target`."""
    now = TenantStatus(current)
    if target not in _TENANT_MOVES[now]:
        raise Conflict(
            "conflict", f"a {now.value} tenant cannot become {target.value}", field="status"
        )
    return target


def user_move(current: str, target: UserStatus) -> UserStatus:
    now = UserStatus(current)
    if target not in _USER_MOVES[now]:
        raise Conflict(
            "conflict", f"a {now.value} user cannot become {target.value}", field="status"
        )
    return target


class InvitationState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


def invitation_state(
    *,
    accepted_at: datetime | None,
    revoked_at: datetime | None,
    expires_at: datetime | None,
    now: datetime,
) -> InvitationState:
    if accepted_at is not None:
        return InvitationState.ACCEPTED
    if revoked_at is not None:
        # the expiry job marks a lapsed invitation revoked at its expiry time
        lapsed = expires_at is not None and revoked_at >= expires_at
        return InvitationState.EXPIRED if lapsed else InvitationState.REVOKED
    if expires_at is not None and expires_at <= now:
        return InvitationState.EXPIRED
    return InvitationState.PENDING


def last_owner_left(owners: int, current_role: str, new_role: str | None) -> bool:
    """Whether moving a member from `current_role` to `new_role` (None: removal) would leave
    the org with no owner: an org nobody can administer cannot be repaired from inside."""
    return current_role == "owner" and new_role != "owner" and owners <= 1


# --- invitation tokens -----------------------------------------------------------------------

INVITATION_PREFIX = "asi"
_INVITATION = re.compile(r"^asi_([0-9a-f]{32})_([A-Za-z0-9_-]{20,128})$")


@dataclass(frozen=True)
class InvitationToken:
    """`asi_<tenant hex>_<secret>`: the tenant is in clear so acceptance opens that tenant's
    unit of work without looking across tenants; only sha256(secret) is stored."""

    tenant_id: UUID
    secret: str

    @property
    def text(self) -> str:
        return f"{INVITATION_PREFIX}_{self.tenant_id.hex}_{self.secret}"

    @property
    def digest(self) -> bytes:
        return secret_digest(self.secret)


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def new_invitation_token(tenant_id: UUID) -> InvitationToken:
    return InvitationToken(tenant_id, secrets.token_urlsafe(32))


def parse_invitation_token(token: str) -> InvitationToken | None:
    """The token's parts, or None when it is not one (the caller answers the same generic
    refusal as for an unknown token)."""
    match = _INVITATION.fullmatch(token)
    if match is None:
        return None
    return InvitationToken(UUID(hex=match.group(1)), match.group(2))
