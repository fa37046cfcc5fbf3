"""`UnitOfWork.emit` fills an envelope from the cause in force and refuses what would
break the outbox later: another tenant's event, an event over the broker's size limit."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from agentsuite_contracts.envelope import Actor, Envelope, Subject
from agentsuite_contracts.identity import TenantCreated
from agentsuite_contracts.topic_names import IDENTITY_TENANTS_V1
from agentsuite_kit.cause import Cause, acting, as_uuid, caused_by
from agentsuite_kit.db.outbox import MessageTooLarge
from agentsuite_kit.db.uow import UnitOfWork
from agentsuite_kit.logging import correlation_id

# emit never connects: an engine nothing listens behind is enough
NOWHERE = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:9/nothing")


def _uow(tenant: UUID | None, **kwargs: Any) -> UnitOfWork:
    uow = UnitOfWork(NOWHERE, tenant_id=tenant, **kwargs)
    uow.producer = "identity"
    return uow


def _created(tenant: UUID) -> TenantCreated:
    return TenantCreated(tenant_id=tenant, slug="acme", name="Acme")


def test_emit_fills_the_envelope_from_the_consumed_event() -> None:
    tenant = uuid4()
    source = Envelope[TenantCreated](
        producer="identity",
        tenant_id=tenant,
        actor=Actor(kind="user", id="u1"),
        subject=Subject(type="tenant", id=str(tenant)),
        correlation_id=uuid4(),
        payload=_created(tenant),
    )
    uow = _uow(tenant)
    with caused_by(source):
        emitted = uow.emit(_created(tenant))
    assert emitted.causation_id == source.id
    assert emitted.correlation_id == source.correlation_id
    assert emitted.actor == source.actor
    assert emitted.tenant_id == tenant
    assert emitted.producer == "identity"
    assert emitted.subject == Subject(type="tenant", id=str(tenant))
    [pending] = uow._pending
    assert (pending.topic, pending.key) == (IDENTITY_TENANTS_V1, str(tenant))


def test_emit_in_a_request_uses_its_correlation_id_and_actor() -> None:
    tenant = uuid4()
    token = correlation_id.set("req-abc")  # what CorrelationIdMiddleware sets
    try:
        with acting(Actor(kind="user", id="alice")):
            emitted = _uow(tenant).emit(_created(tenant))
    finally:
        correlation_id.reset(token)
    assert emitted.correlation_id == as_uuid("req-abc")
    assert emitted.causation_id is None
    assert emitted.actor == Actor(kind="user", id="alice")


def test_a_correlation_id_that_is_a_uuid_is_kept_and_others_map_stably() -> None:
    known = uuid4()
    assert as_uuid(str(known)) == known
    assert as_uuid("abc") == as_uuid("abc") != as_uuid("abd")
    assert as_uuid(None) != as_uuid(None)  # none given: a fresh one each time


def test_emit_refuses_an_envelope_of_another_tenant() -> None:
    mine, theirs = uuid4(), uuid4()
    event = Envelope[TenantCreated](
        producer="identity",
        tenant_id=theirs,
        subject=Subject(type="tenant", id=str(theirs)),
        correlation_id=uuid4(),
        payload=_created(theirs),
    )
    with pytest.raises(ValueError, match="not this unit of work's tenant"):
        _uow(mine).emit(event)
    _uow(None, all_tenants=True).emit(event)  # a platform job may write any tenant's


def test_emit_refuses_an_event_over_the_size_limit_naming_it() -> None:
    tenant = uuid4()
    uow = _uow(tenant)
    uow.max_message_bytes = 200
    with pytest.raises(MessageTooLarge, match=r"identity\.tenant\.created \(tenant "):
        uow.emit(_created(tenant))
    assert uow._pending == []


def test_cause_nests_and_restores() -> None:
    outer = Cause(correlation_id=uuid4())
    with caused_by(outer):
        with acting(Actor(kind="service", id="x")) as inner:
            assert inner.correlation_id == outer.correlation_id
        assert correlation_id.get() == str(outer.correlation_id)
    assert correlation_id.get() is None


def test_emit_for_a_tenant_with_its_own_correlation_id() -> None:
    """An all-tenants unit of work (an engine's sweep) emits for the tenant it names, and a
    caller may set the correlation id (one story per run); the rest is the cause in force."""
    tenant, story = uuid4(), uuid4()
    source = Cause(uuid4(), causation_id=uuid4(), actor=Actor(kind="user", id="u1"))
    uow = _uow(None, all_tenants=True)
    with caused_by(source):
        emitted = uow.emit(_created(tenant), tenant_id=tenant, correlation_id=story)
    assert emitted.tenant_id == tenant
    assert emitted.correlation_id == story
    assert emitted.causation_id == source.causation_id
    assert emitted.actor == source.actor
    # a tenant's unit of work emits for no other tenant, named or not
    with pytest.raises(ValueError, match="tenant"):
        _uow(uuid4()).emit(_created(tenant), tenant_id=tenant)
