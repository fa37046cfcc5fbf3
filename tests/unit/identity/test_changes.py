"""The freshness bookkeeping of `Changes`: a notification or a lost connection between
reading a tenant's state and marking it must leave the tenant unfresh."""

from __future__ import annotations

from uuid import uuid4

from agentsuite_identity.changes import Changes
from agentsuite_identity.repositories.authz import CHANNEL


def _listening() -> Changes:
    changes = Changes("postgresql://unused")
    changes._conn = object()  # as after a successful connect
    return changes


def test_a_read_marks_the_tenant_fresh_until_a_notification() -> None:
    changes, tenant = _listening(), uuid4()
    changes.mark(tenant, changes.ticket(tenant))
    assert changes.fresh(tenant)
    changes._on_notify(None, 0, CHANNEL, str(tenant))
    assert not changes.fresh(tenant)


def test_a_notification_during_the_read_wins() -> None:
    changes, tenant = _listening(), uuid4()
    ticket = changes.ticket(tenant)
    changes._on_notify(None, 0, CHANNEL, str(tenant))
    changes.mark(tenant, ticket)
    assert not changes.fresh(tenant)


def test_a_lost_connection_forgets_everything_and_voids_tickets() -> None:
    changes, tenant = _listening(), uuid4()
    ticket = changes.ticket(tenant)
    changes.mark(tenant, ticket)
    changes._on_lost(None)
    assert not changes.fresh(tenant)
    changes._lost.clear()  # even once listening again, the old ticket is void
    changes.mark(tenant, ticket)
    assert not changes.fresh(tenant)


def test_nothing_is_fresh_before_listening_or_for_a_foreign_payload() -> None:
    changes, tenant = Changes("postgresql://unused"), uuid4()
    assert changes.ticket(tenant) is None
    changes.mark(tenant, None)
    assert not changes.fresh(tenant)
    listening, other = _listening(), uuid4()
    listening.mark(other, listening.ticket(other))
    listening._on_notify(None, 0, CHANNEL, "not-a-uuid")
    assert not listening.fresh(other)
