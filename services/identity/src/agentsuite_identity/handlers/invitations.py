"""Invitations to an organization: issued with a token shown once, accepted once, revoked
or expired. Acceptance answers one generic refusal for every failing token, so a caller
learns nothing about which invitations exist."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy.engine import RowMapping

from agentsuite_contracts.identity import (
    InvitationAccepted,
    InvitationCreated,
    InvitationRevoked,
    MemberAdded,
    OrgRole,
)
from agentsuite_contracts.ids import uuid7
from agentsuite_identity.deps import Deps
from agentsuite_identity.domain import directory
from agentsuite_identity.domain.directory import InvitationState, UserStatus
from agentsuite_identity.domain.errors import Conflict, Invalid, NotFound
from agentsuite_identity.handlers.orgs import get_org, may_confer
from agentsuite_identity.handlers.users import Email, Name, Password, add_user, user_updated
from agentsuite_identity.handlers.users import OrgRole as OrgRoleField
from agentsuite_identity.repositories.authz import touch
from agentsuite_identity.settings import IdentitySettings
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.jobs import Job

EXPIRE_JOB = "invitations.expire"


class Refused(Invalid):
    """The one answer to any token that cannot be accepted (unknown, used, revoked,
    expired, malformed, inactive tenant). The accept route answers it 400, as a bad
    credential, not 422: nothing about the token's shape tells the caller what to fix."""

    def __init__(self) -> None:
        super().__init__("invalid_invitation", "the invitation is not valid", field="token")


@dataclass(frozen=True)
class Invite:
    org_id: UUID
    fields: CreateInvitation
    created_by: UUID | None
    granter_capabilities: Collection[str] | None = None
    """A route's caller's: the invited standing is bounded like `put_member`'s."""


@dataclass(frozen=True)
class RevokeInvitation:
    invitation_id: UUID
    org_scope: UUID | None = None
    """The caller's token reaches that org only; another's invitation is not found."""


@dataclass(frozen=True)
class Accept:
    fields: AcceptInvitation
    token: directory.InvitationToken


class CreateInvitation(BaseModel):
    email: Email
    role: OrgRoleField = "member"


class AcceptInvitation(BaseModel):
    token: str = Field(min_length=1, max_length=300)
    display_name: Name
    password: Password


class InvitationView(BaseModel):
    invitation_id: UUID
    org_id: UUID
    email: str
    role: str
    state: InvitationState
    expires_at: datetime | None
    created_at: datetime
    created_by: UUID | None
    accepted_at: datetime | None
    accepted_by: UUID | None

    @classmethod
    def of(cls, row: RowMapping) -> InvitationView:
        values = {k: row[k] for k in cls.model_fields if k != "state"}
        return cls.model_validate({**values, "state": state_of(row)})


class Issued(BaseModel):
    invitation: InvitationView
    token: str = Field(description="Shown once: give it to the invitee.")


class Accepted(BaseModel):
    tenant_id: UUID
    org_id: UUID
    user_id: UUID


def state_of(row: RowMapping) -> InvitationState:
    return directory.invitation_state(
        accepted_at=row["accepted_at"],
        revoked_at=row["revoked_at"],
        expires_at=row["expires_at"],
        now=datetime.now(UTC),
    )


async def issue(
    uow: IdentityUow,
    *,
    org_id: UUID,
    email: str,
    role: str,
    settings: IdentitySettings,
    created_by: UUID | None,
) -> Issued:
    """Record the invitation (hash only), emit, schedule its expiry. No commit."""
    assert uow.tenant_id is not None
    token = directory.new_invitation_token(uow.tenant_id)
    invitation_id = uuid7()
    expires_at = datetime.now(UTC) + timedelta(hours=settings.invitation_ttl_hours)
    await uow.invitations.add(
        invitation_id=invitation_id,
        tenant_id=uow.tenant_id,
        org_id=org_id,
        email=email,
        role=role,
        token_hash=token.digest,
        expires_at=expires_at,
        created_by=created_by,
    )
    uow.emit(
        InvitationCreated(
            invitation_id=invitation_id,
            org_id=org_id,
            email=email,
            role=OrgRole(role),
            expires_at=expires_at,
        )
    )
    await uow.jobs.schedule(
        EXPIRE_JOB,
        payload={"invitation_id": str(invitation_id)},
        run_at=expires_at,
        key=str(invitation_id),
    )
    row = await uow.invitations.get(invitation_id)
    assert row is not None
    return Issued(invitation=InvitationView.of(row), token=token.text)


async def create_invitation(cmd: Invite, uow: IdentityUow, deps: Deps) -> Issued:
    """No commit: the route saves the idempotent response in the same transaction.

    With `granter_capabilities`, the invited standing is bounded like `put_member`'s: an
    invitation is a deferred grant."""
    org_id, fields = cmd.org_id, cmd.fields
    if cmd.granter_capabilities is not None:
        may_confer(cmd.granter_capabilities, fields.role)
    await get_org(uow, org_id)
    existing = await uow.users.by_email(fields.email)
    if existing is not None and await uow.orgs.member_role(org_id, existing["user_id"]):
        raise Conflict("conflict", "this person is already a member", field="email")
    issued = await issue(
        uow,
        org_id=org_id,
        email=fields.email,
        role=fields.role,
        settings=deps.settings,
        created_by=cmd.created_by,
    )
    return issued


async def revoke_invitation(cmd: RevokeInvitation, uow: IdentityUow, deps: Deps) -> None:
    invitation_id, org_scope = cmd.invitation_id, cmd.org_scope
    row = await uow.invitations.get(invitation_id, lock=True)
    if row is None or (org_scope is not None and row["org_id"] != org_scope):
        raise NotFound("not_found", f"invitation {invitation_id} not found", field="invitation_id")
    state = state_of(row)
    if state is not InvitationState.PENDING:
        raise Conflict("conflict", f"the invitation is {state.value}", field="invitation_id")
    await uow.invitations.mark(invitation_id, revoked_at=datetime.now(UTC))
    uow.emit(InvitationRevoked(invitation_id=invitation_id, org_id=row["org_id"]))
    await uow.commit()


async def accept_invitation(command: Accept, uow: IdentityUow, deps: Deps) -> Accepted:
    """Run in the unit of work of `token.tenant_id`. Creates the user (or, for an existing
    account of that email, checks its password) and the membership, once."""
    cmd, token, passwords = command.fields, command.token, deps.passwords
    tenant = await uow.tenants.get(token.tenant_id)
    row = await uow.invitations.by_digest(token.digest)
    if (
        tenant is None
        or tenant["status"] != "active"
        or row is None
        or state_of(row) is not InvitationState.PENDING
    ):
        await passwords.waste(cmd.password)
        raise Refused()
    user = await uow.users.by_email(row["email"], lock=True)
    if user is None:
        user_id = await add_user(
            uow,
            email=row["email"],
            display_name=cmd.display_name,
            password_hash=await passwords.hash(cmd.password),
        )
    elif user["status"] == UserStatus.INVITED and user["password_hash"] is None:
        # a bootstrap admin created without a password sets it here
        user_id = user["user_id"]
        changed = await uow.users.change(
            user_id,
            status=UserStatus.ACTIVE.value,
            display_name=cmd.display_name,
            password_hash=await passwords.hash(cmd.password),
        )
        uow.emit(user_updated(changed))
    else:
        ok, _ = await passwords.verify(user["password_hash"], cmd.password)
        if not ok or user["status"] != UserStatus.ACTIVE:
            raise Refused()
        user_id = user["user_id"]
    org_id: UUID = row["org_id"]
    await uow.invitations.mark(
        row["invitation_id"], accepted_at=datetime.now(UTC), accepted_by=user_id
    )
    uow.emit(InvitationAccepted(invitation_id=row["invitation_id"], org_id=org_id, user_id=user_id))
    # an existing member keeps their standing: an invitation never demotes
    if await uow.orgs.member_role(org_id, user_id) is None:
        await uow.orgs.put_member(org_id, token.tenant_id, user_id, row["role"])
        uow.emit(MemberAdded(org_id=org_id, user_id=user_id, role=OrgRole(row["role"])))
        await touch(uow.roles)
    await uow.commit()
    return Accepted(tenant_id=token.tenant_id, org_id=org_id, user_id=user_id)


async def expire(job: Job, uow: IdentityUow) -> None:
    """The `invitations.expire` job, at an invitation's expiry: still pending, it lapses."""
    invitation_id = UUID(str(job.payload["invitation_id"]))
    row = await uow.invitations.get(invitation_id, lock=True)
    if row is None or state_of(row) is not InvitationState.EXPIRED:
        return
    if row["accepted_at"] is not None or row["revoked_at"] is not None:
        return
    await uow.invitations.mark(invitation_id, revoked_at=row["expires_at"])
    uow.emit(InvitationRevoked(invitation_id=invitation_id, org_id=row["org_id"], expired=True))
    await uow.commit()
