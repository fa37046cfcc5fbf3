"""Values a session may hold: however the model (or a prefill) fills the obligations, the
requirements document, carried whole by `discovery.session.completed`, fits in one event."""

from __future__ import annotations

from uuid import uuid4

from agentsuite_contracts.discovery import ExtractionKind
from agentsuite_discovery.domain.objectives import objective_of
from agentsuite_discovery.domain.sessions import Proposed, apply, initial, requirements

EVENT_LIMIT = 1_000_000  # the kit's default max_message_bytes


def proposed(key: str, value: object) -> Proposed:
    return Proposed(key, value, ExtractionKind.FACT, 1.0, None, None)


def test_values_past_the_sessions_budget_are_rejected_and_the_document_fits_one_event() -> None:
    obligations = [{"key": "goal", "title": "Goal", "kind": "goal"}]
    obligations += [{"key": f"o{i}", "title": "t" * 200} for i in range(99)]
    objective = objective_of("wide", 1, {"title": "t", "obligations": obligations})
    big = "é" * 30_000  # 60,000 bytes of UTF-8 each
    state, applied = apply(
        objective,
        initial(objective),
        [proposed(o["key"], big) for o in obligations],
        uuid4,
    )
    document = requirements(objective, state, {}, [], forced=False, reason=None)
    size = len(document.model_dump_json().encode())
    assert size < EVENT_LIMIT - 50_000, size  # room for the envelope around it
    refused = [a for a in applied if not a.applied]
    assert refused, "nothing was refused"
    assert all(a.reason and a.reason.startswith("invalid_value: ") for a in refused)
    assert applied[0].applied  # the first values fit


def test_a_huge_goal_is_not_carried_twice() -> None:
    objective = objective_of(
        "g", 1, {"title": "t", "obligations": [{"key": "goal", "title": "Goal", "kind": "goal"}]}
    )
    state, [done] = apply(objective, initial(objective), [proposed("goal", "x" * 500_000)], uuid4)
    assert done.applied  # under the budget: kept whole in the findings
    document = requirements(objective, state, {}, [], forced=False, reason=None)
    assert len(document.model_dump_json().encode()) < EVENT_LIMIT - 50_000
