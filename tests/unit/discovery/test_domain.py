"""discovery's domain rules, without a server."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from agentsuite_contracts.identity import (
    TenantCreated,
    TenantDeleted,
    TenantStatus,
    TenantSuspended,
    TenantUpdated,
)
from agentsuite_discovery.domain.items import MAX_NAME, new_item
from agentsuite_discovery.domain.tenants import fact_of, may_write
from agentsuite_kit.errors import Invalid, Kind


def test_a_new_item_keeps_its_trimmed_name() -> None:
    tenant = uuid4()
    item = new_item(tenant, "  a name ")
    assert (item.tenant_id, item.name) == (tenant, "a name")
    assert new_item(tenant, "x").id != new_item(tenant, "x").id


@pytest.mark.parametrize(
    ("name", "code"),
    [("", "name_blank"), (" \t", "name_blank"), ("x" * (MAX_NAME + 1), "name_too_long")],
)
def test_a_bad_name_is_refused_naming_the_field(name: str, code: str) -> None:
    with pytest.raises(Invalid) as refused:
        new_item(uuid4(), name)
    assert (refused.value.code, refused.value.field, refused.value.kind) == (
        code,
        "name",
        Kind.INVALID,
    )


def test_tenant_events_set_a_status_as_of_their_time() -> None:
    tenant, at = uuid4(), datetime.now(UTC)
    created = TenantCreated(tenant_id=tenant, slug="s", name="n")
    suspended = TenantSuspended(tenant_id=tenant, reason="r")
    fact = fact_of(suspended, at)
    assert fact is not None
    assert (fact.status, fact.as_of) == (TenantStatus.SUSPENDED, at)
    assert fact_of(created, at) is not None
    assert fact_of(TenantDeleted(tenant_id=tenant), at) is not None
    assert fact_of(TenantUpdated(tenant_id=tenant, slug="s", name="n", tier="t"), at) is None


def test_only_an_active_or_unknown_tenant_may_write() -> None:
    assert may_write(None)
    assert may_write(TenantStatus.ACTIVE)
    assert not may_write(TenantStatus.SUSPENDED)
    assert not may_write(TenantStatus.DELETED)
