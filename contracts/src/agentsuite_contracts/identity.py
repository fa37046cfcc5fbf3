"""identity v1 payloads: tenants, users, organizations, roles, policies, API keys, signing keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import Field

from agentsuite_contracts.common import JsonObject
from agentsuite_contracts.envelope import Event
from agentsuite_contracts.marks import Personal, Sensitive


class TenantStatus(StrEnum):
    """Lifecycle of a tenant."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


class UserStatus(StrEnum):
    """Lifecycle of a user account."""

    INVITED = "invited"
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


class OrgRole(StrEnum):
    """A member's standing within an organization."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class PolicyEffect(StrEnum):
    """What an ABAC policy does when it matches."""

    ALLOW = "allow"
    DENY = "deny"


# --- tenants ---------------------------------------------------------------------------------


class TenantCreated(Event):
    """A tenant was bootstrapped."""

    type: Literal["identity.tenant.created"] = Field(
        default="identity.tenant.created", description="Message type."
    )
    tenant_id: UUID = Field(description="The new tenant.")
    slug: str = Field(description="URL-safe unique handle.")
    name: str = Field(description="Display name.")
    tier: str = Field(default="standard", description="Commercial tier, e.g. `free`, `standard`.")
    status: TenantStatus = Field(default=TenantStatus.ACTIVE, description="Initial status.")


class TenantUpdated(Event):
    """A tenant's profile changed; carries the current values."""

    type: Literal["identity.tenant.updated"] = Field(
        default="identity.tenant.updated", description="Message type."
    )
    tenant_id: UUID = Field(description="The tenant.")
    slug: str = Field(description="URL-safe unique handle.")
    name: str = Field(description="Display name.")
    tier: str = Field(description="Commercial tier.")


class TenantSuspended(Event):
    """A tenant was suspended: its principals can no longer act."""

    type: Literal["identity.tenant.suspended"] = Field(
        default="identity.tenant.suspended", description="Message type."
    )
    tenant_id: UUID = Field(description="The tenant.")
    reason: Sensitive[str] = Field(description="Why it was suspended.")


class TenantReactivated(Event):
    """A suspended tenant was made active again."""

    type: Literal["identity.tenant.reactivated"] = Field(
        default="identity.tenant.reactivated", description="Message type."
    )
    tenant_id: UUID = Field(description="The tenant.")


class TenantDeleted(Event):
    """A tenant was deleted; services drop its data after `purge_after`."""

    type: Literal["identity.tenant.deleted"] = Field(
        default="identity.tenant.deleted", description="Message type."
    )
    tenant_id: UUID = Field(description="The tenant.")
    purge_after: datetime | None = Field(
        default=None, description="When its data may be purged; null means at once."
    )


# --- users -----------------------------------------------------------------------------------


class UserCreated(Event):
    """A user account was created in a tenant."""

    type: Literal["identity.user.created"] = Field(
        default="identity.user.created", description="Message type."
    )
    user_id: UUID = Field(description="The new user.")
    email: Personal[str] = Field(description="Login email address.")
    display_name: Personal[str] = Field(description="Name shown to others.")
    status: UserStatus = Field(default=UserStatus.ACTIVE, description="Initial status.")


class UserUpdated(Event):
    """A user's profile changed; carries the current values."""

    type: Literal["identity.user.updated"] = Field(
        default="identity.user.updated", description="Message type."
    )
    user_id: UUID = Field(description="The user.")
    email: Personal[str] = Field(description="Login email address.")
    display_name: Personal[str] = Field(description="Name shown to others.")
    status: UserStatus = Field(description="Current status.")


class UserDeactivated(Event):
    """A user can no longer sign in; their sessions and API keys stop working."""

    type: Literal["identity.user.deactivated"] = Field(
        default="identity.user.deactivated", description="Message type."
    )
    user_id: UUID = Field(description="The user.")
    reason: Sensitive[str | None] = Field(default=None, description="Why, when given.")


# --- organizations, members, invitations -----------------------------------------------------


class OrgCreated(Event):
    """An organization was created inside a tenant."""

    type: Literal["identity.org.created"] = Field(
        default="identity.org.created", description="Message type."
    )
    org_id: UUID = Field(description="The new organization.")
    slug: str = Field(description="URL-safe handle, unique in the tenant.")
    name: str = Field(description="Display name.")
    owner_id: UUID = Field(description="The user who owns it.")


class OrgUpdated(Event):
    """An organization's profile changed; carries the current values."""

    type: Literal["identity.org.updated"] = Field(
        default="identity.org.updated", description="Message type."
    )
    org_id: UUID = Field(description="The organization.")
    slug: str = Field(description="URL-safe handle.")
    name: str = Field(description="Display name.")


class OrgDeleted(Event):
    """An organization was deleted with its memberships."""

    type: Literal["identity.org.deleted"] = Field(
        default="identity.org.deleted", description="Message type."
    )
    org_id: UUID = Field(description="The organization.")


class MemberAdded(Event):
    """A user joined an organization."""

    type: Literal["identity.member.added"] = Field(
        default="identity.member.added", description="Message type."
    )
    org_id: UUID = Field(description="The organization.")
    user_id: UUID = Field(description="The member.")
    role: OrgRole = Field(description="Standing in the organization.")


class MemberRoleChanged(Event):
    """A member's standing in an organization changed."""

    type: Literal["identity.member.role_changed"] = Field(
        default="identity.member.role_changed", description="Message type."
    )
    org_id: UUID = Field(description="The organization.")
    user_id: UUID = Field(description="The member.")
    role: OrgRole = Field(description="New standing.")
    previous_role: OrgRole = Field(description="Standing before the change.")


class MemberRemoved(Event):
    """A user left or was removed from an organization."""

    type: Literal["identity.member.removed"] = Field(
        default="identity.member.removed", description="Message type."
    )
    org_id: UUID = Field(description="The organization.")
    user_id: UUID = Field(description="The former member.")


class InvitationCreated(Event):
    """Someone was invited to an organization (the token is never published)."""

    type: Literal["identity.invitation.created"] = Field(
        default="identity.invitation.created", description="Message type."
    )
    invitation_id: UUID = Field(description="The invitation.")
    org_id: UUID = Field(description="Organization invited to.")
    email: Personal[str] = Field(description="Invitee's email address.")
    role: OrgRole = Field(description="Standing granted on acceptance.")
    expires_at: datetime = Field(description="When the invitation lapses.")


class InvitationAccepted(Event):
    """An invitation was accepted; a `member.added` follows."""

    type: Literal["identity.invitation.accepted"] = Field(
        default="identity.invitation.accepted", description="Message type."
    )
    invitation_id: UUID = Field(description="The invitation.")
    org_id: UUID = Field(description="Organization joined.")
    user_id: UUID = Field(description="The user who accepted.")


class InvitationRevoked(Event):
    """An invitation was withdrawn or expired before acceptance."""

    type: Literal["identity.invitation.revoked"] = Field(
        default="identity.invitation.revoked", description="Message type."
    )
    invitation_id: UUID = Field(description="The invitation.")
    org_id: UUID = Field(description="Organization it was for.")
    expired: bool = Field(default=False, description="True when it lapsed rather than withdrawn.")


# --- roles and assignments -------------------------------------------------------------------


class RoleCreated(Event):
    """A role (a named set of capabilities) was defined."""

    type: Literal["identity.role.created"] = Field(
        default="identity.role.created", description="Message type."
    )
    role_id: UUID = Field(description="The new role.")
    name: str = Field(description="Unique name in the tenant, e.g. `plan-approver`.")
    description: str = Field(default="", description="What the role is for.")
    capabilities: list[str] = Field(
        description="Capabilities granted, e.g. `planning.plan.approve`."
    )
    builtin: bool = Field(default=False, description="True for roles the platform ships.")


class RoleUpdated(Event):
    """A role changed; carries its current name and capabilities."""

    type: Literal["identity.role.updated"] = Field(
        default="identity.role.updated", description="Message type."
    )
    role_id: UUID = Field(description="The role.")
    name: str = Field(description="Unique name in the tenant.")
    description: str = Field(default="", description="What the role is for.")
    capabilities: list[str] = Field(description="Capabilities granted (the full current set).")


class RoleDeleted(Event):
    """A role was deleted; its assignments are gone with it."""

    type: Literal["identity.role.deleted"] = Field(
        default="identity.role.deleted", description="Message type."
    )
    role_id: UUID = Field(description="The role.")
    name: str = Field(description="Its name, for readers without a projection.")


class RoleAssigned(Event):
    """A role was granted to a user, tenant-wide or within one organization."""

    type: Literal["identity.role.assigned"] = Field(
        default="identity.role.assigned", description="Message type."
    )
    role_id: UUID = Field(description="The role.")
    user_id: UUID = Field(description="The grantee.")
    org_id: UUID | None = Field(
        default=None, description="Organization the grant is limited to; null = whole tenant."
    )
    expires_at: datetime | None = Field(default=None, description="When the grant lapses, if ever.")
    assignment_id: UUID | None = Field(default=None, description="The grant's own id.")
    resource_type: str | None = Field(
        default=None, description="Resource type the grant is limited to, with `resource_id`."
    )
    resource_id: str | None = Field(
        default=None, description="The one resource the grant is limited to; null = none."
    )


class RoleRevoked(Event):
    """A role grant was withdrawn."""

    type: Literal["identity.role.revoked"] = Field(
        default="identity.role.revoked", description="Message type."
    )
    role_id: UUID = Field(description="The role.")
    user_id: UUID = Field(description="The former grantee.")
    org_id: UUID | None = Field(
        default=None, description="Organization the grant was limited to; null = whole tenant."
    )
    assignment_id: UUID | None = Field(default=None, description="The grant's own id.")
    resource_type: str | None = Field(
        default=None, description="Resource type the grant is limited to, with `resource_id`."
    )
    resource_id: str | None = Field(
        default=None, description="The one resource the grant is limited to; null = none."
    )


# --- ABAC policies ---------------------------------------------------------------------------


class PolicyCreated(Event):
    """An ABAC policy was defined."""

    type: Literal["identity.policy.created"] = Field(
        default="identity.policy.created", description="Message type."
    )
    policy_id: UUID = Field(description="The new policy.")
    name: str = Field(description="Unique name in the tenant.")
    effect: PolicyEffect = Field(description="Allow or deny on match.")
    actions: list[str] = Field(description="Capabilities it covers; `*` for all.")
    resource_type: str = Field(description="Resource type it covers, e.g. `plan`; `*` for all.")
    condition: JsonObject = Field(
        default_factory=dict,
        description='Attribute condition, e.g. `{"resource.status": {"$in": ["draft"]}}`.',
    )
    priority: int = Field(default=0, description="Higher wins when policies conflict.")
    enabled: bool = Field(default=True, description="Whether it is evaluated.")
    resources: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Resource patterns `type:id` it covers, `*` wildcards, e.g. `plan:*`.",
    )
    description: str = Field(default="", description="What the policy is for.")


class PolicyUpdated(Event):
    """An ABAC policy changed; carries its current definition."""

    type: Literal["identity.policy.updated"] = Field(
        default="identity.policy.updated", description="Message type."
    )
    policy_id: UUID = Field(description="The policy.")
    name: str = Field(description="Unique name in the tenant.")
    effect: PolicyEffect = Field(description="Allow or deny on match.")
    actions: list[str] = Field(description="Capabilities it covers; `*` for all.")
    resource_type: str = Field(description="Resource type it covers; `*` for all.")
    condition: JsonObject = Field(default_factory=dict, description="Attribute condition.")
    priority: int = Field(default=0, description="Higher wins when policies conflict.")
    enabled: bool = Field(default=True, description="Whether it is evaluated.")
    resources: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Resource patterns `type:id` it covers, `*` wildcards, e.g. `plan:*`.",
    )
    description: str = Field(default="", description="What the policy is for.")


class PolicyDeleted(Event):
    """An ABAC policy was deleted."""

    type: Literal["identity.policy.deleted"] = Field(
        default="identity.policy.deleted", description="Message type."
    )
    policy_id: UUID = Field(description="The policy.")
    name: str = Field(description="Its name, for readers without a projection.")


# --- API keys and signing keys ---------------------------------------------------------------


class ApiKeyCreated(Event):
    """An API key was issued. Only its id and display prefix travel; the secret never does."""

    type: Literal["identity.api_key.created"] = Field(
        default="identity.api_key.created", description="Message type."
    )
    api_key_id: UUID = Field(description="The key's id.")
    name: str = Field(description="Label chosen by the owner.")
    prefix: str = Field(description="First characters of the key, shown to tell keys apart.")
    user_id: UUID = Field(description="Owner; the key acts with the owner's rights.")
    scopes: list[str] = Field(
        default_factory=list, description="Capabilities the key is limited to; empty = owner's."
    )
    expires_at: datetime | None = Field(default=None, description="When it lapses, if ever.")
    org_id: UUID | None = Field(
        default=None, description="Organization that owns the key, when it is org-owned."
    )
    rate_limit_per_minute: int | None = Field(
        default=None, description="Exchanges per minute the key is allowed; null = no limit."
    )


class ApiKeyRevoked(Event):
    """An API key was revoked and stops authenticating at once."""

    type: Literal["identity.api_key.revoked"] = Field(
        default="identity.api_key.revoked", description="Message type."
    )
    api_key_id: UUID = Field(description="The key's id.")
    prefix: str = Field(description="Display prefix.")
    reason: Sensitive[str | None] = Field(default=None, description="Why, when given.")


# --- service accounts -----------------------------------------------------------------------


class ServiceAccountCreated(Event):
    """A service account (a machine principal with a client id and secret) was created."""

    type: Literal["identity.service_account.created"] = Field(
        default="identity.service_account.created", description="Message type."
    )
    service_account_id: UUID = Field(description="The account.")
    name: str = Field(description="Its name, e.g. the service it belongs to.")
    client_id: str = Field(description="OAuth2 client id it authenticates with.")
    kind: str = Field(description="`platform`, `service` or `tenant`.")
    capabilities: list[str] = Field(description="Capabilities its tokens carry.")


class ServiceAccountSecretRotated(Event):
    """A service account's secret was replaced; the old one stopped working at once."""

    type: Literal["identity.service_account.secret_rotated"] = Field(
        default="identity.service_account.secret_rotated", description="Message type."
    )
    service_account_id: UUID = Field(description="The account.")
    client_id: str = Field(description="OAuth2 client id.")


class ServiceAccountDisabled(Event):
    """A service account can no longer obtain tokens."""

    type: Literal["identity.service_account.disabled"] = Field(
        default="identity.service_account.disabled", description="Message type."
    )
    service_account_id: UUID = Field(description="The account.")
    client_id: str = Field(description="OAuth2 client id.")


# --- sessions and decisions --------------------------------------------------------------------


_ADDRESS = (
    "The client's IP address as identity saw it: the peer, or the address a configured "
    "trusted proxy forwarded (X-Forwarded-For is ignored from anyone else). None when unknown."
)
_USER_AGENT = "The request's User-Agent header (at most 512 characters), when it sent one."


class SessionRevoked(Event):
    """A refresh-token family (one sign-in) was revoked: on logout (the sign-out), on
    deactivation, or because a used refresh token was presented again (likely theft)."""

    type: Literal["identity.session.revoked"] = Field(
        default="identity.session.revoked", description="Message type."
    )
    user_id: UUID = Field(description="Whose session.")
    family_id: UUID = Field(description="The refresh-token family revoked.")
    reason: str = Field(description="`reuse_detected`, `user_deactivated`, `logout`, ...")
    client_address: Personal[str | None] = Field(
        default=None, description=f"For a request's revocation (logout, reuse). {_ADDRESS}"
    )
    user_agent: Personal[str | None] = Field(default=None, description=_USER_AGENT)


class SignedIn(Event):
    """A user signed in with their password: a new session (refresh-token family) began."""

    type: Literal["identity.session.signed_in"] = Field(
        default="identity.session.signed_in", description="Message type."
    )
    user_id: UUID = Field(description="Who signed in.")
    family_id: UUID = Field(description="The session: the refresh-token family it began.")
    org_id: UUID | None = Field(default=None, description="The org signed in to, if one.")
    client_address: Personal[str | None] = Field(default=None, description=_ADDRESS)
    user_agent: Personal[str | None] = Field(default=None, description=_USER_AGENT)


class SignInFailed(Event):
    """A password sign-in was refused. Never carries the password. The envelope's tenant is
    the tenant named, when it exists; the client was told only `invalid_grant`."""

    type: Literal["identity.session.sign_in_failed"] = Field(
        default="identity.session.sign_in_failed", description="Message type."
    )
    user_id: UUID | None = Field(
        default=None, description="The account signed in as, when one has that email."
    )
    email: Personal[str] = Field(description="The username given (lower-cased).")
    tenant: str = Field(description="The tenant slug given (lower-cased).")
    reason: str = Field(
        description="`invalid_credentials` (unknown account, wrong password, inactive "
        "user or tenant), `account_locked`, `address_locked`, `not_a_member` (of the org "
        "asked for)."
    )
    client_address: Personal[str | None] = Field(default=None, description=_ADDRESS)
    user_agent: Personal[str | None] = Field(default=None, description=_USER_AGENT)


class SignInLockedOut(Event):
    """Too many failed sign-ins: an account (tenant + email) or a client address is locked
    out until `locked_until`. Emitted once, by the failure that set the lock."""

    type: Literal["identity.session.locked_out"] = Field(
        default="identity.session.locked_out", description="Message type."
    )
    scope: Literal["account", "address"] = Field(description="What is locked out.")
    user_id: UUID | None = Field(
        default=None, description="The account locked, for an account lockout of a user."
    )
    email: Personal[str | None] = Field(
        default=None, description="The username locked (lower-cased), for an account lockout."
    )
    locked_until: datetime = Field(description="Until when sign-ins are refused.")
    client_address: Personal[str | None] = Field(
        default=None, description=f"The address of the failure that set the lock. {_ADDRESS}"
    )
    user_agent: Personal[str | None] = Field(default=None, description=_USER_AGENT)


class RefreshTokenReused(Event):
    """A refresh token already spent was presented again: two parties hold the session, so
    it is revoked (SessionRevoked `reuse_detected`, when still live). Emitted on every such
    attempt, for the audit trail of who presented it from where."""

    type: Literal["identity.session.refresh_token_reused"] = Field(
        default="identity.session.refresh_token_reused", description="Message type."
    )
    user_id: UUID = Field(description="Whose session.")
    family_id: UUID = Field(description="The refresh-token family of the token.")
    client_address: Personal[str | None] = Field(default=None, description=_ADDRESS)
    user_agent: Personal[str | None] = Field(default=None, description=_USER_AGENT)


class AuthorizationDecided(Event):
    """identity answered an authorization question (recorded ones only; see sampling)."""

    type: Literal["identity.authorization.decided"] = Field(
        default="identity.authorization.decided", description="Message type."
    )
    decision_id: UUID = Field(description="The recorded decision.")
    subject_id: str = Field(description="Who asked to act.")
    action: str = Field(description="Capability asked for, e.g. `plans:approve`.")
    resource_type: str = Field(description="Type of the resource acted on.")
    resource_id: str | None = Field(default=None, description="The resource, when one.")
    allowed: bool = Field(description="The answer.")
    reason: str = Field(description="Why: `role_grant`, `allow_policy`, `deny_policy`, ...")
    matched_policies: list[UUID] = Field(
        default_factory=list, description="Policies whose conditions held."
    )
    matched_roles: list[str] = Field(default_factory=list, description="Roles that granted it.")


class SigningKeyRotated(Event):
    """identity started signing tokens with a new key.

    Verifiers need not react: they refresh their JWKS on a timer and when a token names a
    `kid` they do not know, and the previous key stays in the JWKS until
    `previous_valid_until`. The event is the audit record of the rotation.
    """

    type: Literal["identity.signing_key.rotated"] = Field(
        default="identity.signing_key.rotated", description="Message type."
    )
    kid: str = Field(description="Key id of the new signing key (JWT `kid`).")
    algorithm: str = Field(
        description="JWS algorithm: `Ed25519` (RFC 9864) or `ES256`; `EdDSA` only for keys "
        "made before the switch to the fully specified name."
    )
    previous_kid: str | None = Field(default=None, description="Key it replaces, if any.")
    jwks_url: str = Field(description="Where verifiers fetch the public keys.")
    previous_valid_until: datetime | None = Field(
        default=None, description="Until when tokens signed by the previous key still verify."
    )
