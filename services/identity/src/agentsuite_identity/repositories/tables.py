"""identity's tables, as SQLAlchemy Core metadata (the migrations are the schema's source;
the drift check keeps the two equal). One block per area, in the order of the migrations."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PgUUID

from agentsuite_kit.db.columns import (
    at_column,
    created_column,
    tenant_column,
    updated_column,
    uuid_column,
    version_column,
)

metadata = MetaData()


def _id(name: str) -> Column[object]:
    return Column(name, PgUUID(as_uuid=True), primary_key=True)


# --- 0001 directory: tenants, users, organizations, members, invitations ---------------------

tenants = Table(
    "tenants",
    metadata,
    # named tenant_id so the tenant's own row is under RLS like every other
    Column("tenant_id", PgUUID(as_uuid=True), primary_key=True),
    Column("slug", String(63), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("tier", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", Text, nullable=True),
    # bumped by every change to roles, assignments, policies or members: the key of the
    # in-process authorization snapshot cache
    Column("authz_version", BigInteger, nullable=False, server_default=text("0")),
    created_column(),
    updated_column(),
    at_column("suspended_at"),
    at_column("deleted_at"),
    at_column("purge_after"),
    version_column(),
)

users = Table(
    "users",
    metadata,
    _id("user_id"),
    tenant_column(),
    Column("email", String(254), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("attributes", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    created_column(),
    updated_column(),
    at_column("deactivated_at"),
    version_column(),
    # lower(email) as a column: under forced RLS only a leakproof condition can seek an
    # index, and one calling lower() is not (migration 0005)
    Column(
        "email_lower",
        String(254),
        Computed("lower((email)::text)", persisted=True),
        nullable=False,
    ),
    # one account per email per tenant in any case
    UniqueConstraint("tenant_id", "email_lower", name="uq_users_tenant_email_lower"),
    # the revocation list's rows only (migration 0007)
    Index("ix_users_deactivated", "updated_at", postgresql_where=text("status = 'deactivated'")),
)

orgs = Table(
    "orgs",
    metadata,
    _id("org_id"),
    tenant_column(),
    Column("slug", String(63), nullable=False),
    Column("name", String(200), nullable=False),
    uuid_column("owner_id", nullable=False),
    created_column(),
    updated_column(),
    version_column(),
    UniqueConstraint("tenant_id", "slug", name="uq_orgs_tenant_slug"),
)

members = Table(
    "members",
    metadata,
    Column(
        "org_id",
        PgUUID(as_uuid=True),
        ForeignKey("orgs.org_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "user_id",
        PgUUID(as_uuid=True),
        ForeignKey("users.user_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    tenant_column(),
    Column("role", String(16), nullable=False),
    created_column(),
    Index("ix_members_tenant_user", "tenant_id", "user_id"),
)

invitations = Table(
    "invitations",
    metadata,
    _id("invitation_id"),
    tenant_column(),
    Column(
        "org_id",
        PgUUID(as_uuid=True),
        ForeignKey("orgs.org_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("email", String(254), nullable=False),
    Column("role", String(16), nullable=False),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    at_column("expires_at"),
    created_column(),
    uuid_column("created_by"),
    at_column("accepted_at"),
    uuid_column("accepted_by"),
    at_column("revoked_at"),
)

# --- 0002 credentials: service accounts, refresh tokens, signing keys, login throttle ------

service_accounts = Table(
    "service_accounts",
    metadata,
    _id("service_account_id"),
    # null: a platform or service account, acting for no tenant
    tenant_column(nullable=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("client_id", String(80), nullable=False, unique=True),
    Column("secret_hash", Text, nullable=False),
    Column("capabilities", ARRAY(Text), nullable=False),
    Column("status", String(16), nullable=False),
    created_column(),
    updated_column(),
    at_column("secret_rotated_at"),
    version_column(),
    # the revocation list's rows only (migration 0007)
    Index(
        "ix_service_accounts_disabled", "updated_at", postgresql_where=text("status = 'disabled'")
    ),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    _id("token_id"),
    tenant_column(),
    uuid_column("family_id", nullable=False),
    uuid_column("user_id", nullable=False),
    uuid_column("org_id"),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    created_column(),
    at_column("expires_at"),
    at_column("used_at"),
    at_column("revoked_at"),
    Index("ix_refresh_tokens_family", "tenant_id", "family_id"),
    Index("ix_refresh_tokens_user", "tenant_id", "user_id"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("public_jwk", JSONB, nullable=False),
    # nonce || AES-256-GCM ciphertext of the PKCS#8 private key, associated data = kid + alg
    Column("private_key", LargeBinary, nullable=False),
    created_column(),
    at_column("activated_at"),
    at_column("retired_at"),
    at_column("verify_until"),
)

login_throttle = Table(
    "login_throttle",
    metadata,
    # a keyed hash of the account (tenant + email) or of the client address: never the text
    Column("key", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_started_at", DateTime(timezone=True), nullable=False),
    at_column("locked_until"),
)

# --- 0003 authorization: roles, assignments, policies, decisions ---------------------------

roles = Table(
    "roles",
    metadata,
    _id("role_id"),
    tenant_column(),
    Column("name", String(100), nullable=False),
    Column("description", String(1000), nullable=False, server_default=""),
    Column("capabilities", ARRAY(Text), nullable=False),
    Column("builtin", Boolean, nullable=False, server_default=text("false")),
    created_column(),
    updated_column(),
    version_column(),
    UniqueConstraint("tenant_id", "name", name="uq_roles_tenant_name"),
)

role_assignments = Table(
    "role_assignments",
    metadata,
    _id("assignment_id"),
    tenant_column(),
    Column(
        "role_id",
        PgUUID(as_uuid=True),
        ForeignKey("roles.role_id", ondelete="CASCADE"),
        nullable=False,
    ),
    # a user or a tenant service account
    uuid_column("principal_id", nullable=False),
    Column("scope", String(16), nullable=False),
    uuid_column("org_id"),
    Column("resource_type", String(100), nullable=True),
    Column("resource_id", String(200), nullable=True),
    at_column("expires_at"),
    created_column(),
    uuid_column("created_by"),
    Index("ix_role_assignments_principal", "tenant_id", "principal_id"),
)

policies = Table(
    "policies",
    metadata,
    _id("policy_id"),
    tenant_column(),
    Column("name", String(100), nullable=False),
    Column("description", String(1000), nullable=False, server_default=""),
    Column("effect", String(8), nullable=False),
    Column("actions", ARRAY(Text), nullable=False),
    Column("resource_type", String(100), nullable=False),
    Column("resources", ARRAY(Text), nullable=False),
    Column("condition", JSONB, nullable=False),
    Column("priority", Integer, nullable=False, server_default=text("0")),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    created_column(),
    updated_column(),
    version_column(),
    UniqueConstraint("tenant_id", "name", name="uq_policies_tenant_name"),
)

decisions = Table(
    "decisions",
    metadata,
    _id("decision_id"),
    tenant_column(),
    Column("decided_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # the request as asked (subject, action, resource, context): what dry-run replays
    Column("request", JSONB, nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("explanation", JSONB, nullable=False),
    Column("elapsed_ms", Float, nullable=False),
    Index("ix_decisions_tenant_time", "tenant_id", "decided_at"),
)

# --- 0004 API keys ---------------------------------------------------------------------------

api_keys = Table(
    "api_keys",
    metadata,
    _id("api_key_id"),
    tenant_column(),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("name", String(100), nullable=False),
    # owner: a user, or (user_id null) an organization
    uuid_column("user_id"),
    uuid_column("org_id"),
    uuid_column("created_by", nullable=False),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("rate_limit_per_minute", Integer, nullable=True),
    at_column("expires_at"),
    at_column("last_used_at"),
    at_column("revoked_at"),
    Column("revoke_reason", Text, nullable=True),
    created_column(),
    Index("ix_api_keys_tenant", "tenant_id", "created_at"),
    # the revocation list: revoked keys, and a deactivated owner's live keys (migration 0007)
    Index("ix_api_keys_revoked", "revoked_at", postgresql_where=text("revoked_at IS NOT NULL")),
    Index(
        "ix_api_keys_owner",
        "user_id",
        postgresql_where=text("user_id IS NOT NULL AND revoked_at IS NULL"),
    ),
)

# --- 0006 API key rate limits, one per key across identity processes -----------------------

api_key_rates = Table(
    "api_key_rates",
    metadata,
    # GCRA: the theoretical arrival time of the key's next exchange; no tenant, no RLS
    _id("api_key_id"),
    Column("tat", DateTime(timezone=True), nullable=False),
)
