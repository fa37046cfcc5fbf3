"""The capability catalogue: every capability a role, key or policy may name.

A capability is `<resource>:<verb>`. Roles and keys may also name `<resource>:*` or `*`,
which the kit's `capability_matches` expands; a name that matches nothing in the catalogue
is refused (422), so a typo can never become a silent no-op grant.
"""

from __future__ import annotations

from collections.abc import Iterable

TENANT: dict[str, str] = {
    # identity
    "users:read": "List and read users.",
    "users:write": "Create, update and deactivate users.",
    "users:invite": "Invite people to organizations.",
    "orgs:read": "List and read organizations and members.",
    "orgs:write": "Create, update and delete organizations; manage members.",
    "roles:read": "List and read roles and assignments.",
    "roles:write": "Create, update, delete and assign roles.",
    "policies:read": "List and read ABAC policies.",
    "policies:write": "Create, update and delete ABAC policies; dry-run changes.",
    "authorize:check": "Ask for an authorization decision.",
    "decisions:read": "Read recorded authorization decisions.",
    "api_keys:read": "List and read API keys.",
    "api_keys:write": "Create and revoke API keys.",
    "service_accounts:read": "List the tenant's service accounts.",
    "service_accounts:write": "Create, rotate and disable the tenant's service accounts.",
    "tenant:read": "Read the own tenant.",
    "tenant:write": "Update the own tenant's profile.",
    # catalog
    "tools:read": "Read tools.",
    "tools:write": "Create and publish tools.",
    "agents:read": "Read agents.",
    "agents:write": "Create and update agents.",
    "tasks:read": "Read task definitions.",
    "tasks:write": "Create and update task definitions.",
    "templates:read": "Read templates.",
    "templates:write": "Create and update templates.",
    # discovery
    "objectives:read": "Read objectives.",
    "objectives:write": "Create and update objectives.",
    "sessions:read": "Read discovery sessions.",
    "sessions:write": "Run discovery sessions.",
    "discovery:force_complete": "Complete a discovery session whose gate is not met (gaps listed).",
    # planning
    "plans:read": "Read plans.",
    "plans:write": "Create and edit plans.",
    "plans:approve": "Approve plans for execution.",
    "schedules:write": "Schedule plans.",
    "triggers:write": "Publish plans as webhooks or API endpoints; rotate their secrets.",
    # execution
    "executions:read": "Read executions.",
    "executions:start": "Start executions.",
    "executions:cancel": "Cancel executions.",
    "approvals:decide": "Approve or reject execution checkpoints.",
    "budgets:write": "Set budgets.",
    "secrets:read": "Read the names and metadata of the tenant's secrets (never values).",
    "secrets:write": "Store, replace and delete the tenant's secrets (tool credentials).",
    # llm-gateway
    "llm:invoke": "Call models through the gateway.",
    "models:read": "Read providers and models.",
    "models:write": "Configure providers, models and routes.",
    "prompts:read": "Read prompts.",
    "prompts:write": "Create and version prompts.",
    "usage:read": "Read usage and spend.",
    # audit
    "audit:read": "Read the audit log.",
}

PLATFORM: dict[str, str] = {
    "tenants:read": "List and read every tenant.",
    "tenants:write": "Create, suspend, reactivate and delete tenants.",
    "signing_keys:read": "List signing keys.",
    "signing_keys:rotate": "Rotate the token signing key.",
    "platform_accounts:write": "Create service accounts for services and automation.",
}

CATALOGUE: dict[str, str] = TENANT | PLATFORM

SERVICE: tuple[str, ...] = ("authorize:check", "decisions:read", "users:read", "orgs:read")
"""What a service's own account may do across tenants: ask identity for decisions."""

OPERATOR: tuple[str, ...] = ("*",)
"""The platform operator's grant: everything, platform capabilities included."""


def matches(pattern: str, capability: str) -> bool:
    """`*` matches all; `plans:*` matches every `plans:` capability; otherwise equality.

    The same rule as `agentsuite_kit.auth.principal.capability_matches`, kept here so the
    domain stays free of the kit.
    """
    if pattern == capability or pattern == "*":
        return True
    return pattern.endswith(":*") and capability.startswith(pattern[:-1])


def unknown(patterns: Iterable[str], *, platform: bool = False) -> list[str]:
    """The patterns that name no capability of the catalogue (tenant's, or all if `platform`)."""
    known = CATALOGUE if platform else TENANT
    return [p for p in patterns if not any(matches(p, c) for c in known)]


def expand(patterns: Iterable[str], *, platform: bool = False) -> frozenset[str]:
    """Every catalogue capability the patterns grant."""
    known = CATALOGUE if platform else TENANT
    listed = list(patterns)
    return frozenset(c for c in known if any(matches(p, c) for p in listed))


TENANT_ADMINISTRATION: frozenset[str] = frozenset(
    {
        "users:write",
        "roles:write",
        "policies:write",
        "service_accounts:read",
        "service_accounts:write",
        "tenant:write",
    }
)
"""What no org-scoped grant confers: identity's routes act tenant-wide, so an org owner
holding `roles:write` could assign itself the tenant's owner role (and `users:write`,
`policies:write`, service accounts reach every org the same way)."""


def within_org(patterns: Iterable[str]) -> frozenset[str]:
    """The capabilities that org-scoped `patterns` confer: tenant catalogue entries only
    (an org owner's `*` never reaches platform capabilities), minus tenant administration."""
    return expand(patterns) - TENANT_ADMINISTRATION


SYSTEM_ROLES: dict[str, tuple[str, ...]] = {
    "owner": ("*",),
    "admin": tuple(c for c in TENANT if c not in ("tenant:write",)),
    "member": (
        *(c for c in TENANT if c.endswith(":read") and c not in ("decisions:read", "audit:read")),
        "authorize:check",
        "tools:write",
        "agents:write",
        "tasks:write",
        "templates:write",
        "objectives:write",
        "sessions:write",
        "plans:write",
        "executions:start",
        "executions:cancel",
        "llm:invoke",
        "prompts:write",
    ),
    "viewer": tuple(c for c in TENANT if c.endswith(":read") and c != "audit:read"),
}
"""The roles every tenant starts with; they cannot be changed or deleted. An organization
member's standing (owner, admin, member) grants the system role of that name in that org."""
