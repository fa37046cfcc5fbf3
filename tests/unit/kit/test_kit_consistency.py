"""`check_envelope`: an envelope that disagrees with its payload is refused as `Invalid`
(code and field named), one that agrees passes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field

from agentsuite_contracts.catalog import ToolPublished
from agentsuite_contracts.envelope import Envelope, Event, Payload, Subject
from agentsuite_contracts.identity import TenantSuspended
from agentsuite_contracts.registry import subject_of
from agentsuite_kit.errors import Invalid, Kind
from agentsuite_kit.messaging.consistency import check_envelope, same_subject


class Unregistered(Event):
    type: Literal["unit.unregistered"] = Field(default="unit.unregistered", description="Type.")


def _tool() -> ToolPublished:
    return ToolPublished(tool_id=uuid4(), name="web.search", version="1.0.0")


def _envelope(
    payload: Payload, tenant_id: UUID | None, subject: Subject | None = None
) -> Envelope[Any]:
    return Envelope[Any](
        producer="unit",
        tenant_id=tenant_id,
        subject=subject or subject_of(payload),
        correlation_id=uuid4(),
        occurred_at=datetime.now(UTC),
        payload=payload,
    )


def _refusal(event: Envelope[Any], *, tenanted: bool = True) -> Invalid:
    with pytest.raises(Invalid) as refused:
        check_envelope(event, tenanted=tenanted)
    assert refused.value.kind is Kind.INVALID
    return refused.value


def test_an_event_that_agrees_with_itself_passes() -> None:
    check_envelope(_envelope(_tool(), uuid4()))
    tenant = uuid4()
    check_envelope(_envelope(TenantSuspended(tenant_id=tenant, reason="r"), tenant))


def test_an_event_without_a_tenant_is_refused_where_one_is_needed() -> None:
    event = _envelope(_tool(), None)
    refused = _refusal(event)
    assert (refused.code, refused.field) == ("tenant_missing", "tenant_id")
    assert "catalog.tool.published" in refused.message
    check_envelope(event, tenanted=False)  # a subscription that has its own answer


@pytest.mark.parametrize("sender", [uuid4(), None], ids=["another", "none"])
def test_a_tenant_event_in_another_tenants_name_is_refused(sender: UUID | None) -> None:
    named = uuid4()
    refused = _refusal(
        _envelope(TenantSuspended(tenant_id=named, reason="r"), sender), tenanted=False
    )
    assert (refused.code, refused.field) == ("tenant_mismatch", "tenant_id")
    assert str(named) in refused.message


@pytest.mark.parametrize(
    "subject",
    [Subject(type="tool", id=str(uuid4())), None, Subject(type="tool", id="not-a-uuid")],
    ids=["another-tool", "another-type", "not-a-uuid"],
)
def test_an_envelope_about_another_aggregate_is_refused(subject: Subject | None) -> None:
    payload = _tool()
    subject = subject or Subject(type="agent", id=str(payload.tool_id))
    refused = _refusal(_envelope(payload, uuid4(), subject))
    assert (refused.code, refused.field) == ("subject_mismatch", "subject")
    assert str(payload.tool_id) in refused.message
    assert subject.id in refused.message


def test_the_same_uuid_spelt_otherwise_is_the_same_subject() -> None:
    payload = _tool()
    for spelling in (str(payload.tool_id).upper(), payload.tool_id.hex):
        check_envelope(_envelope(payload, uuid4(), Subject(type="tool", id=spelling)))


def test_a_payload_outside_the_registry_has_no_subject_to_compare() -> None:
    check_envelope(_envelope(Unregistered(), uuid4(), Subject(type="anything", id="x")))


TYPES = st.sampled_from(["tool", "agent", "tool_"])


@given(st.uuids(), st.uuids(), TYPES, TYPES)
def test_same_subject_is_the_same_type_and_value(
    a: UUID, b: UUID, type_a: str, type_b: str
) -> None:
    assert same_subject(Subject(type=type_a, id=str(a)), Subject(type=type_b, id=a.hex)) == (
        type_a == type_b
    )
    assert same_subject(Subject(type="t", id=str(a)), Subject(type="t", id=str(b))) == (a == b)
