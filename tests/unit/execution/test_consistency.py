"""The envelope/payload agreement check (handlers/consistency.py, the kit's
`check_envelope` under it): the same aggregate spelled differently by another producer is
still the same aggregate; another one is refused as `Invalid` (dead-lettered at once)."""

from __future__ import annotations

from uuid import uuid4

import pytest

from agentsuite_contracts.envelope import Envelope, Subject
from agentsuite_contracts.execution import ExecutionCancelled
from agentsuite_execution.handlers.consistency import check
from agentsuite_kit.errors import Invalid


def _event(subject_id: str, execution_id: object) -> Envelope[ExecutionCancelled]:
    payload = ExecutionCancelled.model_validate({"execution_id": execution_id})
    return Envelope[ExecutionCancelled](
        producer="another-service",
        tenant_id=uuid4(),
        subject=Subject(type="execution", id=subject_id),
        correlation_id=uuid4(),
        payload=payload,
    )


def test_an_upper_case_subject_id_names_the_same_aggregate() -> None:
    execution = uuid4()
    check(_event(str(execution).upper(), execution))
    check(_event(execution.hex, execution))  # the same UUID without hyphens


def test_a_different_subject_id_is_still_refused() -> None:
    with pytest.raises(Invalid, match="subject"):
        check(_event(str(uuid4()), uuid4()))
    # not a UUID at all: compared as text, and it differs
    with pytest.raises(Invalid, match="subject"):
        check(_event("not-a-uuid", uuid4()))
