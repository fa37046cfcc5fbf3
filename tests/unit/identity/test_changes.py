"""The ticket bookkeeping of `Changes`: a notification or a lost connection after a read
began must leave what was read invalid."""

from __future__ import annotations

from uuid import uuid4

from agentsuite_identity.changes import CHANNEL, Changes


def _listening() -> Changes:
    changes = Changes("postgresql://unused")
    changes._conn = object()  # as after a successful connect
    return changes


def test_a_read_stays_valid_until_a_notification_for_its_tenant() -> None:
    changes, tenant, other = _listening(), uuid4(), uuid4()
    ticket = changes.ticket(tenant)
    assert changes.valid(tenant, ticket)
    changes._on_notify(None, 0, CHANNEL, str(other))
    assert changes.valid(tenant, ticket)  # another tenant's change
    changes._on_notify(None, 0, CHANNEL, str(tenant))
    assert not changes.valid(tenant, ticket)
    assert changes.valid(tenant, changes.ticket(tenant))  # a read after it is current


def test_a_lost_connection_voids_every_ticket_even_once_listening_again() -> None:
    changes, tenant = _listening(), uuid4()
    ticket = changes.ticket(tenant)
    changes._on_lost(None)
    assert not changes.valid(tenant, ticket)
    assert changes.ticket(tenant) is None  # nothing is issued while not listening
    changes._lost.clear()
    assert not changes.valid(tenant, ticket)


def test_nothing_is_valid_before_listening_or_after_a_foreign_payload() -> None:
    quiet, tenant = Changes("postgresql://unused"), uuid4()
    assert quiet.ticket(tenant) is None
    assert not quiet.valid(tenant, None)
    listening = _listening()
    ticket = listening.ticket(tenant)
    listening._on_notify(None, 0, CHANNEL, "not-a-uuid")
    assert not listening.valid(tenant, ticket)
