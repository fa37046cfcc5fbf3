"""Review findings: what an org-scoped grant may confer."""

from __future__ import annotations

from agentsuite_identity.domain import api_keys
from agentsuite_identity.domain.capabilities import (
    PLATFORM,
    SYSTEM_ROLES,
    TENANT,
    TENANT_ADMINISTRATION,
    within_org,
)


def test_an_org_owner_gets_the_tenant_catalogue_less_its_administration() -> None:
    granted = within_org(SYSTEM_ROLES["owner"])
    assert "*" not in granted
    assert not granted & set(PLATFORM)
    assert not granted & TENANT_ADMINISTRATION
    assert granted == set(TENANT) - TENANT_ADMINISTRATION


def test_administration_names_catalogue_entries() -> None:
    assert set(TENANT_ADMINISTRATION) <= set(TENANT)
    assert {"roles:write", "policies:write", "users:write", "tenant:write"} <= TENANT_ADMINISTRATION


def test_an_org_key_never_reaches_tenant_administration() -> None:
    ceiling = api_keys.org_key_ceiling()
    assert not ceiling & TENANT_ADMINISTRATION
    assert not set(api_keys.effective([], ceiling)) & TENANT_ADMINISTRATION
    assert "plans:approve" in ceiling
