"""A tenant with one of every object, made through identity's HTTP API as a client would.

`populate(identity)` creates the tenant (POST /v1/tenants with a platform token, or a bare
tenant and user when that route is absent), then one user, org, member, invitation, role,
role assignment, policy, recorded decision, API key and service account. A step whose
route the app does not serve is skipped and named in `Populated.skipped`, so the matrices
that use this run on whatever has landed. `snapshot()` reads every row of a tenant as the
table owner, for before/after comparisons.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from agentsuite_cli.provision import deprovision
from agentsuite_identity.repositories import metadata
from agentsuite_kit.auth.principal import PrincipalKind
from tests.integration.identity.harness import (
    Identity,
    create_identity_db,
    make_settings,
    running,
)
from tests.integration.identity.route_table import gates

Ids = dict[str, str]


@dataclass
class Populated:
    tenant_id: UUID
    admin_id: UUID
    token: str
    """The tenant admin's access token (capability `*`)."""
    ids: Ids = field(default_factory=dict)
    """Object ids by path-parameter name (user_id, org_id, role_id, ...)."""
    skipped: list[str] = field(default_factory=list)
    """Steps whose route the app does not serve."""
    failed: list[str] = field(default_factory=list)
    """Steps whose route answered other than 2xx (with the answer)."""
    secrets: dict[str, str] = field(default_factory=dict)


async def platform_token(identity: Identity) -> str:
    return await identity.mint(None, uuid.uuid4(), ["*"], kind=PrincipalKind.PLATFORM)


def _routes(identity: Identity) -> set[str]:
    return {g.name for g in gates(identity.app)}


def _id_of(body: Any, *keys: str) -> str | None:
    if not isinstance(body, dict):
        return None
    for key in (*keys, "id"):
        value = body.get(key)
        if isinstance(value, str):
            return value
    for nested in body.values():  # e.g. {"tenant": {...}, "admin": {...}}
        if isinstance(nested, dict):
            found = _id_of(nested, *keys)
            if found:
                return found
    return None


async def _tenant(identity: Identity, routes: set[str]) -> tuple[UUID, UUID, list[str]]:
    """(tenant, its first admin user): through the API when it serves tenant creation."""
    if "POST /v1/tenants" in routes:
        slug = f"p-{uuid.uuid4().hex[:12]}"
        r = await identity.client.post(
            "/v1/tenants",
            headers={"Authorization": f"Bearer {await platform_token(identity)}"},
            json={
                "name": "Populated",
                "slug": slug,
                "admin": {
                    "email": f"admin-{slug}@example.com",
                    "display_name": "Admin",
                    "password": "correct horse battery staple 1",
                },
            },
        )
        if r.status_code in (200, 201):
            body = r.json()
            tenant = _id_of(body, "tenant_id")
            admin = _id_of(body, "admin_user_id")
            if tenant and admin:
                return UUID(tenant), UUID(admin), []
        # named in `failed`, so a broken tenant route shows in every matrix's summary
        failed = f"POST /v1/tenants: {r.status_code} {r.text[:200]}"
        tenant_id = await identity.bare_tenant()
        return tenant_id, await identity.bare_user(tenant_id), [failed]
    tenant_id = await identity.bare_tenant()
    return tenant_id, await identity.bare_user(tenant_id), []


@dataclass(frozen=True)
class Step:
    key: str
    route: str
    body: Callable[[Ids], dict[str, Any]]
    id_keys: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    secret: str | None = None


def _steps(tag: str) -> list[Step]:
    return [
        Step(
            "user_id",
            "POST /v1/users",
            lambda ids: {
                "email": f"user-{tag}@example.com",
                "display_name": "Populated User",
                "password": "correct horse battery staple 2",
            },
        ),
        Step("org_id", "POST /v1/orgs", lambda ids: {"name": f"Org {tag}", "slug": f"o-{tag}"}),
        Step(
            "member_user_id",
            "PUT /v1/orgs/{org_id}/members/{user_id}",
            lambda ids: {"role": "member"},
            id_keys=("user_id",),
            needs=("org_id", "user_id"),
        ),
        Step(
            "invitation_id",
            "POST /v1/orgs/{org_id}/invitations",
            lambda ids: {"email": f"invitee-{tag}@example.com", "role": "member"},
            needs=("org_id",),
            secret="token",
        ),
        Step(
            "role_id",
            "POST /v1/roles",
            lambda ids: {"name": f"role-{tag}", "capabilities": ["plans:read", "plans:approve"]},
        ),
        Step(
            "assignment_id",
            "POST /v1/role-assignments",
            lambda ids: {
                "role_id": ids["role_id"],
                "principal_id": ids["user_id"],
                "org_id": ids.get("org_id"),
            },
            needs=("role_id", "user_id"),
        ),
        Step(
            "policy_id",
            "POST /v1/policies",
            lambda ids: {
                "name": f"policy-{tag}",
                "effect": "deny",
                "actions": ["plans:approve"],
                "resource_type": "plan",
                "priority": 10,
            },
        ),
        Step(
            "decision_id",
            "POST /v1/authorize",
            lambda ids: {
                "subject": {"id": ids["user_id"]},
                "action": "plans:read",
                "resource": {"type": "plan", "id": "p1"},
            },
            needs=("user_id",),
        ),
        Step(
            "api_key_id",
            "POST /v1/api-keys",
            lambda ids: {"name": f"key-{tag}", "scopes": ["plans:read"]},
            secret="key",
        ),
        Step(
            "service_account_id",
            "POST /v1/service-accounts",
            lambda ids: {"name": f"sa-{tag}", "capabilities": ["plans:read"]},
            secret="client_secret",
        ),
    ]


async def populate(identity: Identity) -> Populated:
    routes = _routes(identity)
    tenant, admin, failed = await _tenant(identity, routes)
    token = await identity.mint(tenant, admin, ["*"])
    made = Populated(tenant, admin, token, {"tenant_id": str(tenant)}, failed=failed)
    made.ids["admin_id"] = str(admin)
    tag = uuid.uuid4().hex[:10]
    auth = {"Authorization": f"Bearer {token}"}
    for step in _steps(tag):
        if step.route not in routes:
            made.skipped.append(step.route)
            continue
        if step.key in made.ids or any(n not in made.ids for n in step.needs):
            continue
        method, template = step.route.split(" ", 1)
        path = template.format(**made.ids)
        r = await identity.client.request(method, path, headers=auth, json=step.body(made.ids))
        if r.status_code not in (200, 201):
            made.failed.append(f"{step.route}: {r.status_code} {r.text[:200]}")
            continue
        body = r.json()
        found = _id_of(body, step.key, *step.id_keys)
        if step.key == "decision_id":
            found = found or _id_of(body, "decision_id", "id")
        if found is not None:
            made.ids[step.key] = found
        if step.key == "member_user_id":
            found = made.ids["user_id"]
        if step.secret and isinstance(body, dict) and isinstance(body.get(step.secret), str):
            made.secrets[step.key] = body[step.secret]
    made.ids.setdefault("user_id", str(admin))
    return made


# --- snapshots --------------------------------------------------------------------------

_KIT_TABLES = frozenset({"outbox", "inbox", "jobs", "idempotency_keys"})
"""Bookkeeping the relay and runners update on their own: not a tenant's objects."""


def tenant_tables() -> list[str]:
    return sorted(
        t.name for t in metadata.tables.values() if "tenant_id" in t.c and t.name not in _KIT_TABLES
    )


async def snapshot(identity: Identity, tenant: UUID) -> dict[str, list[str]]:
    """Every row of every identity table that belongs to `tenant`, as sorted text."""
    rows: dict[str, list[str]] = {}
    for table in tenant_tables():
        found = await identity.owner_sql(
            f"SELECT to_jsonb(x)::text FROM {table} x WHERE tenant_id = :t", t=tenant
        )
        rows[table] = sorted(r[0] for r in found)
    return rows


# --- request bodies ---------------------------------------------------------------------


def bodies(ids: Ids) -> dict[str, dict[str, Any]]:
    """A valid body for each route that takes one, naming the objects in `ids`: with it a
    holder of the route's capabilities reaches the handler, so a 403 (or a 2xx) is the
    route's own answer, not a validation error. Fresh names on every call."""
    tag = uuid.uuid4().hex[:10]
    password = "correct horse battery staple 3"
    return {
        "POST /v1/tenants": {
            "slug": f"m-{tag}",
            "name": "Matrix",
            "admin": {"email": f"a-{tag}@example.com", "display_name": "A", "password": password},
        },
        "PATCH /v1/tenants/{tenant_id}": {"name": f"Renamed {tag}"},
        "POST /v1/tenants/{tenant_id}/suspend": {"reason": "matrix"},
        "POST /v1/users": {
            "email": f"u-{tag}@example.com",
            "display_name": "U",
            "password": password,
        },
        "PATCH /v1/users/{user_id}": {"display_name": f"U {tag}"},
        "POST /v1/users/me/password": {"current": password, "new": password + "!"},
        "POST /v1/orgs": {"slug": f"o-{tag}", "name": f"Org {tag}"},
        "PATCH /v1/orgs/{org_id}": {"name": f"Org {tag}"},
        "PUT /v1/orgs/{org_id}/members/{user_id}": {"role": "member"},
        "POST /v1/orgs/{org_id}/invitations": {"email": f"i-{tag}@example.com"},
        "POST /v1/roles": {"name": f"r-{tag}", "capabilities": ["plans:read"]},
        "PATCH /v1/roles/{role_id}": {"description": tag},
        "POST /v1/role-assignments": {
            "role_id": ids.get("role_id"),
            "principal_id": ids.get("user_id"),
            "org_id": ids.get("org_id"),
        },
        "POST /v1/policies": {
            "name": f"p-{tag}",
            "effect": "allow",
            "actions": ["plans:read"],
            "resource_type": "plan",
        },
        "PATCH /v1/policies/{policy_id}": {"priority": 5},
        "POST /v1/authorize": {
            "subject": {"id": ids.get("user_id", str(uuid.uuid4()))},
            "action": "plans:read",
            "resource": {"type": "plan", "id": "p1", "org_id": ids.get("org_id")},
        },
        "POST /v1/authorize/dry-run": {"op": "delete", "policy_id": ids.get("policy_id")},
        "POST /v1/api-keys": {
            "name": f"k-{tag}",
            "scopes": ["plans:read"],
            "org_id": ids.get("org_id"),
        },
        "POST /v1/service-accounts": {"name": f"sa-{tag}", "capabilities": ["plans:read"]},
        "POST /v1/platform/service-accounts": {
            "name": f"psa-{tag}",
            "capabilities": ["authorize:check"],
            "kind": "service",
        },
    }


def body_for(route: str, ids: Ids) -> dict[str, Any] | None:
    """The body for `route` ("METHOD /path"), {} for a write without one listed, None for
    reads."""
    known = bodies(ids)
    if route in known:
        return {k: v for k, v in known[route].items() if v is not None}
    return {} if route.split(" ")[0] in ("POST", "PUT", "PATCH") else None


# --- an identity of one's own ----------------------------------------------------------


@asynccontextmanager
async def own_identity(admin_url: str, kafka: str, scratch: Path) -> AsyncIterator[Identity]:
    """A fresh database and app, for a module whose calls change platform-wide state
    (signing key rotations, platform accounts) that the session's shared app must not see."""
    db = await create_identity_db(admin_url, scratch / "pw.json")
    try:
        settings = make_settings(db.url(admin_url), kafka, bootstrap_dir=scratch)
        async with running(settings, db, admin_url) as started:
            yield started
    finally:
        await deprovision(admin_url, [db])
