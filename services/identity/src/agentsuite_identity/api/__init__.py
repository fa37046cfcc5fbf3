"""identity's edge API: every area's router, in the order they appear in the OpenAPI."""

from __future__ import annotations

from fastapi import APIRouter

from agentsuite_identity.api import (
    api_keys,
    authz,
    orgs,
    revocations,
    service_accounts,
    signing_keys,
    tenants,
    tokens,
    users,
    wellknown,
)
from agentsuite_identity.deps import Deps


def routers(deps: Deps) -> list[APIRouter]:
    areas = (
        wellknown,
        revocations,
        tokens,
        tenants,
        users,
        orgs,
        authz,
        api_keys,
        service_accounts,
        signing_keys,
    )
    return [area.router(deps) for area in areas]
