"""Users of a tenant: create, read, update, deactivate, change password. Also the field
types every directory command shares, so each rule answers 422 naming its field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy.engine import RowMapping

from agentsuite_contracts.identity import UserCreated, UserDeactivated, UserUpdated
from agentsuite_contracts.ids import uuid7
from agentsuite_identity.deps import Deps
from agentsuite_identity.domain import directory
from agentsuite_identity.domain.directory import UserStatus
from agentsuite_identity.domain.errors import Conflict, Forbidden, Invalid, NotFound
from agentsuite_identity.handlers.tokens import revoke_user_sessions
from agentsuite_identity.uow import IdentityUow

T = TypeVar("T")


def rule(check: Callable[[T], T]) -> AfterValidator:
    """A domain check as a pydantic validator: its `Invalid` becomes the field's 422."""

    def run(value: T) -> T:
        try:
            return check(value)
        except Invalid as exc:
            raise ValueError(exc.message) from None

    return AfterValidator(run)


Email = Annotated[str, Field(max_length=directory.EMAIL_MAX), rule(directory.email)]
Name = Annotated[str, Field(min_length=1, max_length=directory.NAME_MAX), rule(directory.name)]
Password = Annotated[
    str,
    Field(min_length=directory.PASSWORD_MIN, max_length=directory.PASSWORD_MAX),
    rule(directory.password),
]
Slug = Annotated[str, Field(max_length=63), rule(directory.slug)]
Attributes = Annotated[dict[str, Any], rule(directory.attributes)]
OrgRole = Annotated[str, rule(directory.org_role)]

VersionCheck = Callable[[int], None]
"""Raises unless the version loaded is the one the client changed (If-Match)."""


class CreateUser(BaseModel):
    email: Email
    display_name: Name
    password: Password
    attributes: Attributes = Field(default_factory=dict)


class UpdateUser(BaseModel):
    display_name: Name | None = None
    attributes: Attributes | None = None


class Deactivate(BaseModel):
    reason: str | None = Field(default=None, max_length=1000)


class ChangePassword(BaseModel):
    current: str = Field(min_length=1, max_length=directory.PASSWORD_MAX)
    new: Password


@dataclass(frozen=True)
class ChangeUser:
    user_id: UUID
    changes: UpdateUser
    check: VersionCheck


@dataclass(frozen=True)
class DeactivateUser:
    user_id: UUID
    reason: str | None = None


@dataclass(frozen=True)
class SetPassword:
    """A user changing their own password (`current` proves it is them)."""

    user_id: UUID
    current: str
    new: str


class UserView(BaseModel):
    user_id: UUID
    email: str
    display_name: str
    status: str
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deactivated_at: datetime | None
    version: int

    @classmethod
    def of(cls, row: RowMapping) -> UserView:
        return cls.model_validate({k: row[k] for k in cls.model_fields})


async def add_user(
    uow: IdentityUow,
    *,
    email: str,
    display_name: str,
    password_hash: str | None,
    status: UserStatus = UserStatus.ACTIVE,
    attributes: dict[str, Any] | None = None,
) -> UUID:
    """Insert a user of the uow's tenant and emit UserCreated; Conflict if the email is
    taken. Does not commit."""
    assert uow.tenant_id is not None
    user_id = uuid7()
    added = await uow.users.add(
        user_id, uow.tenant_id, email, display_name, password_hash, status.value, attributes or {}
    )
    if not added:
        raise Conflict(
            "conflict", "a user with this email already exists in the tenant", field="email"
        )
    uow.emit(UserCreated(user_id=user_id, email=email, display_name=display_name, status=status))
    return user_id


async def create_user(cmd: CreateUser, uow: IdentityUow, deps: Deps) -> UserView:
    """No commit: the route saves the idempotent response in the same transaction."""
    hashed = await deps.passwords.hash(cmd.password)
    user_id = await add_user(
        uow,
        email=cmd.email,
        display_name=cmd.display_name,
        password_hash=hashed,
        attributes=cmd.attributes,
    )
    row = await get_user(uow, user_id)
    return UserView.of(row)


async def get_user(uow: IdentityUow, user_id: UUID, *, lock: bool = False) -> RowMapping:
    row = await uow.users.get(user_id, lock=lock)
    if row is None:
        raise NotFound("not_found", f"user {user_id} not found", field="user_id")
    return row


async def update_user(cmd: ChangeUser, uow: IdentityUow, deps: Deps) -> UserView:
    row = await get_user(uow, cmd.user_id, lock=True)
    cmd.check(row["version"])
    values = cmd.changes.model_dump(exclude_none=True)
    if values:
        row = await uow.users.change(cmd.user_id, **values)
        uow.emit(user_updated(row))
        await uow.commit()
    return UserView.of(row)


async def deactivate_user(cmd: DeactivateUser, uow: IdentityUow, deps: Deps) -> UserView:
    """Deactivated at once: identity refuses the user's tokens from now on, and every refresh
    token is revoked so nothing new is minted; access tokens elsewhere run out their TTL."""
    row = await get_user(uow, cmd.user_id, lock=True)
    status = directory.user_move(row["status"], UserStatus.DEACTIVATED)
    row = await uow.users.change(cmd.user_id, status=status.value, deactivated_at=datetime.now(UTC))
    await revoke_user_sessions(uow, cmd.user_id, "user_deactivated")
    uow.emit(UserDeactivated(user_id=cmd.user_id, reason=cmd.reason))
    await uow.commit()
    return UserView.of(row)


async def change_password(cmd: SetPassword, uow: IdentityUow, deps: Deps) -> None:
    """Needs the current password; every refresh token of the user is revoked, so a session
    that learnt the old password cannot carry on."""
    passwords = deps.passwords
    row = await get_user(uow, cmd.user_id, lock=True)
    if row["status"] != UserStatus.ACTIVE:
        raise Forbidden("forbidden", "the account is not active")
    ok, _ = await passwords.verify(row["password_hash"], cmd.current)
    if not ok:
        raise Forbidden("forbidden", "the current password does not match")
    if cmd.new == cmd.current:
        raise Invalid("invalid", "must differ from the current password", field="new")
    await uow.users.change(cmd.user_id, password_hash=await passwords.hash(cmd.new))
    await revoke_user_sessions(uow, cmd.user_id, "password_changed")
    await uow.commit()


def user_updated(row: RowMapping) -> UserUpdated:
    return UserUpdated(
        user_id=row["user_id"],
        email=row["email"],
        display_name=row["display_name"],
        status=row["status"],
    )
