"""The directory's pure rules: slugs, emails, names, passwords, attributes, lifecycles,
invitation states and tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from agentsuite_identity.domain import directory
from agentsuite_identity.domain.directory import (
    InvitationState,
    TenantStatus,
    UserStatus,
)
from agentsuite_identity.domain.errors import Conflict, Invalid


@pytest.mark.parametrize("value", ["ab", "acme", "a-1", "0x", "a" * 63, "acme-corp-2"])
def test_good_slugs(value: str) -> None:
    assert directory.slug(value) == value


@pytest.mark.parametrize("value", ["", "a", "-ab", "Acme", "a_b", "a b", "a" * 64, "ab\n", "é-a"])
def test_bad_slugs(value: str) -> None:
    with pytest.raises(Invalid) as caught:
        directory.slug(value, field="slug")
    assert caught.value.field == "slug"


def test_email_is_lower_cased() -> None:
    assert directory.email("Ada.Lovelace@Example.COM") == "ada.lovelace@example.com"


@pytest.mark.parametrize(
    "value", ["", "plain", "a@", "@b.com", "a b@c.com", "a@b", "x@" + "y" * 250 + ".com"]
)
def test_bad_emails(value: str) -> None:
    with pytest.raises(Invalid) as caught:
        directory.email(value, field="admin.email")
    assert caught.value.field == "admin.email"


def test_names() -> None:
    assert directory.name("  Acme  ") == "Acme"
    assert directory.name("x" * 200) == "x" * 200
    for bad in ("", "   ", "x" * 201, "tab\there", "bell\x07", "del\x7f"):
        with pytest.raises(Invalid):
            directory.name(bad)


def test_password_bounds() -> None:
    assert directory.password("x" * 12) == "x" * 12
    assert directory.password("x" * 1024)
    for bad in ("x" * 11, "x" * 1025):
        with pytest.raises(Invalid) as caught:
            directory.password(bad)
        assert caught.value.field == "password"


def test_attributes_are_bounded_json() -> None:
    assert directory.attributes({"team": "blue", "level": 3}) == {"team": "blue", "level": 3}
    with pytest.raises(Invalid):
        directory.attributes({"blob": "x" * 4100})
    with pytest.raises(Invalid):
        directory.attributes({"nan": float("nan")})


def test_org_roles() -> None:
    for role in ("owner", "admin", "member"):
        assert directory.org_role(role) == role
    with pytest.raises(Invalid):
        directory.org_role("viewer")


def test_tenant_lifecycle() -> None:
    move = directory.tenant_move
    assert move("active", TenantStatus.SUSPENDED) is TenantStatus.SUSPENDED
    assert move("suspended", TenantStatus.ACTIVE) is TenantStatus.ACTIVE
    assert move("active", TenantStatus.DELETED) is TenantStatus.DELETED
    assert move("suspended", TenantStatus.DELETED) is TenantStatus.DELETED
    for current, target in [
        ("suspended", TenantStatus.SUSPENDED),
        ("active", TenantStatus.ACTIVE),
        ("deleted", TenantStatus.ACTIVE),
        ("deleted", TenantStatus.SUSPENDED),
        ("deleted", TenantStatus.DELETED),
    ]:
        with pytest.raises(Conflict):
            move(current, target)


def test_user_lifecycle() -> None:
    move = directory.user_move
    assert move("invited", UserStatus.ACTIVE) is UserStatus.ACTIVE
    assert move("active", UserStatus.DEACTIVATED) is UserStatus.DEACTIVATED
    assert move("invited", UserStatus.DEACTIVATED) is UserStatus.DEACTIVATED
    for current, target in [
        ("active", UserStatus.INVITED),
        ("deactivated", UserStatus.ACTIVE),
        ("deactivated", UserStatus.DEACTIVATED),
    ]:
        with pytest.raises(Conflict):
            move(current, target)


def test_invitation_states() -> None:
    now = datetime.now(UTC)
    later, earlier = now + timedelta(hours=1), now - timedelta(hours=1)

    def state(**kw: datetime | None) -> InvitationState:
        values: dict[str, datetime | None] = {
            "accepted_at": None,
            "revoked_at": None,
            "expires_at": later,
        }
        values.update(kw)
        return directory.invitation_state(now=now, **values)

    assert state() is InvitationState.PENDING
    assert state(expires_at=None) is InvitationState.PENDING
    assert state(expires_at=earlier) is InvitationState.EXPIRED
    assert state(expires_at=now) is InvitationState.EXPIRED
    assert state(accepted_at=earlier) is InvitationState.ACCEPTED
    assert state(revoked_at=earlier) is InvitationState.REVOKED
    # the expiry job marks a lapsed one revoked at its expiry time: still reads expired
    assert state(revoked_at=earlier, expires_at=earlier) is InvitationState.EXPIRED


def test_last_owner_rule() -> None:
    assert directory.last_owner_left(1, "owner", None)
    assert directory.last_owner_left(1, "owner", "admin")
    assert not directory.last_owner_left(1, "owner", "owner")
    assert not directory.last_owner_left(2, "owner", None)
    assert not directory.last_owner_left(1, "admin", None)


def test_invitation_token_round_trip() -> None:
    tenant = uuid.uuid4()
    token = directory.new_invitation_token(tenant)
    assert token.text.startswith(f"asi_{tenant.hex}_")
    parsed = directory.parse_invitation_token(token.text)
    assert parsed == token
    assert parsed is not None
    assert parsed.digest == token.digest
    assert len(token.digest) == 32
    assert directory.new_invitation_token(tenant).secret != token.secret


@pytest.mark.parametrize(
    "value",
    [
        "",
        "asi_",
        "ask_" + "0" * 32 + "_" + "s" * 43,
        "asi_" + "0" * 31 + "_" + "s" * 43,
        "asi_" + "G" * 32 + "_" + "s" * 43,
        "asi_" + "0" * 32 + "_short",
        "asi_" + "0" * 32 + "_" + "s" * 43 + "\n",
    ],
)
def test_malformed_invitation_tokens(value: str) -> None:
    assert directory.parse_invitation_token(value) is None
