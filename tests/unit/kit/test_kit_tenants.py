"""The tenant projection's rules every service shares (`agentsuite_kit.tenants`)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from agentsuite_contracts.identity import (
    TenantCreated,
    TenantDeleted,
    TenantStatus,
    TenantSuspended,
    TenantUpdated,
)
from agentsuite_kit.tenants import fact_of, may_write, readable


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


def test_only_a_deleted_tenant_reads_nothing() -> None:
    assert readable(None)
    assert readable(TenantStatus.ACTIVE)
    assert readable(TenantStatus.SUSPENDED)
    assert not readable(TenantStatus.DELETED)
