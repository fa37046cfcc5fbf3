"""API keys: create (the secret is returned once, only its hash kept), revoke."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from agentsuite_contracts.envelope import Subject
from agentsuite_contracts.identity import ApiKeyCreated, ApiKeyRevoked
from agentsuite_contracts.ids import uuid7
from agentsuite_identity.deps import Deps
from agentsuite_identity.domain import api_keys as domain
from agentsuite_identity.domain.errors import Conflict, Forbidden, Invalid, NotFound
from agentsuite_identity.uow import IdentityUow

Scope = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class CreateApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(
        default_factory=list,
        max_length=200,
        description="Capabilities the key is limited to; empty = the owner's rights.",
    )
    org_id: UUID | None = Field(
        default=None, description="Make the key the org's (the caller must be its admin)."
    )
    expires_at: AwareDatetime | None = None
    rate_limit_per_minute: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="Token exchanges per minute, counted by each identity process apart "
        "(see limits.py); null = none.",
    )


class RevokeApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=1000)


class ApiKeyView(BaseModel):
    """A key as lists and reads show it: never the secret, nor its hash."""

    id: UUID
    name: str
    prefix: str
    user_id: UUID | None
    org_id: UUID | None
    created_by: UUID
    scopes: list[str]
    rate_limit_per_minute: int | None
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoke_reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: Any) -> ApiKeyView:
        return cls(
            id=row.api_key_id,
            name=row.name,
            prefix=row.prefix,
            user_id=row.user_id,
            org_id=row.org_id,
            created_by=row.created_by,
            scopes=list(row.scopes),
            rate_limit_per_minute=row.rate_limit_per_minute,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
            revoke_reason=row.revoke_reason,
            created_at=row.created_at,
        )


class CreatedApiKey(ApiKeyView):
    key: str | None = Field(
        description="The whole key, `ask_<prefix>_<secret>`: shown in this response only "
        "(null in an Idempotency-Key replay, which never repeats the secret)."
    )


@dataclass(frozen=True)
class IssueKey:
    fields: CreateApiKey
    creator: UUID
    """The user who makes it (a key acts for a person)."""
    held: frozenset[str]
    """The creator's capabilities: a key's scopes never exceed them."""


@dataclass(frozen=True)
class RevokeKey:
    api_key_id: UUID
    reason: str | None = None


async def create(command: IssueKey, uow: IdentityUow, deps: Deps) -> CreatedApiKey:
    """Check and insert the key and queue ApiKeyCreated. Does not commit: the route saves
    its Idempotency-Key response in the same transaction, then commits."""
    cmd, creator, held = command.fields, command.creator, command.held
    if cmd.expires_at is not None and cmd.expires_at <= datetime.now(UTC):
        raise Invalid("invalid", "expires_at must be in the future", field="expires_at")
    domain.check_scopes(cmd.scopes, held)
    if cmd.org_id is not None:
        role = await uow.api_keys.org_role(cmd.org_id, creator)
        if role not in domain.ORG_ADMIN_ROLES:
            raise Forbidden(
                "forbidden", "only an owner or admin of the org may create its keys", field="org_id"
            )
        domain.check_scopes(cmd.scopes, domain.org_key_ceiling(), whose="an org key")
    owner = None if cmd.org_id is not None else creator
    for _ in range(3):
        new = domain.generate()
        key_id = uuid7()
        values = {
            "api_key_id": key_id,
            "tenant_id": uow.tenant_id,
            "prefix": new.prefix,
            "secret_hash": new.secret_hash,
            "name": cmd.name,
            "user_id": owner,
            "org_id": cmd.org_id,
            "created_by": creator,
            "scopes": cmd.scopes,
            "rate_limit_per_minute": cmd.rate_limit_per_minute,
            "expires_at": cmd.expires_at,
        }
        created_at = await uow.api_keys.add(values)
        if created_at is not None:
            break
    else:  # 60 random bits colliding three times running: something else is wrong
        raise Conflict("conflict", "could not draw a unique key prefix; retry")
    uow.emit(
        ApiKeyCreated(
            api_key_id=key_id,
            name=cmd.name,
            prefix=new.prefix,
            # the contract's owner field is required: an org key names its creator there
            user_id=creator,
            scopes=cmd.scopes,
            expires_at=cmd.expires_at,
            org_id=cmd.org_id,
            rate_limit_per_minute=cmd.rate_limit_per_minute,
        ),
        subject=Subject(type="api_key", id=str(key_id)),
    )
    return CreatedApiKey(
        id=key_id,
        name=cmd.name,
        prefix=new.prefix,
        user_id=owner,
        org_id=cmd.org_id,
        created_by=creator,
        scopes=cmd.scopes,
        rate_limit_per_minute=cmd.rate_limit_per_minute,
        expires_at=cmd.expires_at,
        last_used_at=None,
        revoked_at=None,
        revoke_reason=None,
        created_at=created_at,
        key=new.token,
    )


async def revoke(cmd: RevokeKey, uow: IdentityUow, deps: Deps) -> ApiKeyView:
    """Revoke the key (its tokens stop at identity at once); revoking twice is a no-op."""
    api_key_id = cmd.api_key_id
    row = await uow.api_keys.revoke(api_key_id, cmd.reason)
    if row is None:
        existing = await uow.api_keys.get(api_key_id)
        if existing is None:
            raise NotFound("not_found", "no such API key")
        return ApiKeyView.of(existing)
    uow.emit(
        ApiKeyRevoked(api_key_id=api_key_id, prefix=row.prefix, reason=cmd.reason),
        subject=Subject(type="api_key", id=str(api_key_id)),
    )
    await uow.commit()
    return ApiKeyView.of(row)
