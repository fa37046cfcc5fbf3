"""identity's edge API: every area's module-level router, in the order they appear in the
OpenAPI. Routes reach the process's `Deps` through `app.state.deps` (`api.common.AppDeps`)."""

from __future__ import annotations

from fastapi import APIRouter

from agentsuite_identity.api import (
    api_keys,
    authz,
    orgs,
    policies,
    revocations,
    roles,
    service_accounts,
    signing_keys,
    tenants,
    tokens,
    users,
    wellknown,
)

ROUTERS: tuple[APIRouter, ...] = (
    wellknown.routes,
    revocations.routes,
    tokens.routes,
    tenants.routes,
    users.routes,
    orgs.routes,
    # the authz area: roles, policies, then decisions and dry-run
    roles.routes,
    policies.routes,
    authz.routes,
    api_keys.routes,
    service_accounts.routes,
    signing_keys.routes,
)
