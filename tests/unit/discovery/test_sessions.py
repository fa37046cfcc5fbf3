"""A session's rules: how extractions change obligations, what is asked next, the gate."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.discovery import Candidate, ExtractionKind, ObligationStatus, Relation
from agentsuite_discovery.domain.objectives import DEFAULT, Objective, objective_of
from agentsuite_discovery.domain.sessions import (
    Proposed,
    State,
    apply,
    gaps,
    initial,
    met,
    next_question,
    requirements,
)

FACT = ExtractionKind.FACT
PENDING, PARTIAL = ObligationStatus.PENDING, ObligationStatus.PARTIAL
SATISFIED, CONTESTED = ObligationStatus.SATISFIED, ObligationStatus.CONTESTED


def ids() -> Callable[[], UUID]:
    counter: Iterator[int] = iter(range(1, 1_000_000))
    return lambda: UUID(int=next(counter))


def small() -> Objective:
    return objective_of(
        "small",
        1,
        {
            "title": "Small",
            "obligations": [
                {"key": "goal", "title": "Goal", "kind": "goal", "confidence": 0.8},
                {
                    "key": "channel",
                    "title": "Channel",
                    "depends_on": ["goal"],
                    "validator": {"enum": ["email", "sms"]},
                    "questions": [{"key": "which_channel", "text": "Email or SMS?"}],
                },
                {
                    "key": "sender",
                    "title": "Sender",
                    "required": False,
                    "depends_on": ["channel"],
                    "questions": [
                        {
                            "key": "sender_email",
                            "text": "From which address?",
                            "when": 'answers.channel == "email"',
                        },
                        {"key": "sender_any", "text": "Who sends it?"},
                    ],
                },
            ],
        },
    )


def p(obligation: str, value: Any, confidence: float = 0.9, **more: Any) -> Proposed:
    return Proposed(obligation, value, more.pop("kind", FACT), confidence, **more)


def run(
    objective: Objective, *proposed: Proposed, state: State | None = None
) -> tuple[State, list[Any]]:
    return apply(objective, state if state is not None else initial(objective), proposed, ids())


def test_a_new_value_becomes_current_at_its_confidence() -> None:
    state, (rec,) = run(small(), p("goal", "send reports", 0.5))
    assert (rec.applied, rec.relation, rec.supersedes, rec.reason) == (
        True,
        Relation.NEW,
        None,
        None,
    )
    goal = state["goal"]
    assert (goal.value, goal.confidence, goal.status, goal.extraction_id) == (
        "send reports",
        0.5,
        PARTIAL,
        rec.extraction_id,
    )


def test_confirming_combines_confidences_until_satisfied() -> None:
    state, (first, second) = run(
        small(), p("goal", "Send reports", 0.5), p("goal", "send  reports", 0.6)
    )
    assert second.relation is Relation.CONFIRMS
    assert second.supersedes == first.extraction_id
    assert state["goal"].confidence == pytest.approx(0.8)
    assert state["goal"].status is SATISFIED
    assert state["goal"].value == "Send reports"


def test_a_different_value_contests_and_a_revision_resolves() -> None:
    objective = small()
    state, (first, second) = run(objective, p("goal", "a"), p("goal", "b"))
    assert second.relation is Relation.CONTRADICTS
    assert second.supersedes == first.extraction_id
    goal = state["goal"]
    assert (goal.status, goal.value, goal.contested_by, goal.contested_value) == (
        CONTESTED,
        "a",
        second.extraction_id,
        "b",
    )
    state, (third,) = run(objective, p("goal", "c", relation=Relation.REVISES), state=state)
    assert third.relation is Relation.REVISES
    assert (state["goal"].status, state["goal"].value, state["goal"].contested_by) == (
        SATISFIED,
        "c",
        None,
    )


def test_confirming_the_contesting_value_settles_on_it() -> None:
    objective = small()
    state, records = run(objective, p("goal", "a", 0.5), p("goal", "b", 0.5), p("goal", "b", 0.6))
    assert records[2].relation is Relation.CONFIRMS
    assert records[2].supersedes == records[1].extraction_id
    assert (state["goal"].value, state["goal"].status) == ("b", SATISFIED)
    assert state["goal"].confidence == pytest.approx(0.8)


def test_a_revision_replaces_the_value_without_contest() -> None:
    state, (_, rec) = run(small(), p("goal", "a"), p("goal", "b", 0.4, relation=Relation.REVISES))
    assert rec.relation is Relation.REVISES
    assert (state["goal"].value, state["goal"].confidence, state["goal"].status) == (
        "b",
        0.4,
        PARTIAL,
    )


@pytest.mark.parametrize(
    ("proposed", "reason"),
    [
        (p("nope", "x"), "unknown_obligation"),
        (p("channel", "fax"), "invalid_value: $: the value is not one of ['email', 'sms']"),
        (p("goal", None), "invalid_value: a value is not null"),
        (p("goal", "x", supersedes=uuid4()), "unknown_supersedes"),
        (p("goal", "x", confidence=1.5), "invalid_extraction: confidence is a number 0..1"),
        (
            Proposed("", "x", problem="obligation is missing"),
            "invalid_extraction: obligation is missing",
        ),
    ],
)
def test_a_bad_extraction_is_recorded_rejected_and_changes_nothing(
    proposed: Proposed, reason: str
) -> None:
    objective = small()
    before = initial(objective)
    after, (rec,) = apply(objective, before, [proposed], ids())
    assert (rec.applied, rec.reason, rec.supersedes) == (False, reason, None)
    assert after == before


def test_next_question_follows_dependencies_and_activation_rules() -> None:
    objective = small()
    state = initial(objective)
    question = next_question(objective, state, asked=())
    assert question is not None
    assert question.obligation == "goal"
    assert question.source == "generated"
    assert question.key == "goal:generated"
    state, _ = run(objective, p("goal", "reports"), state=state)
    question = next_question(objective, state, asked=())
    assert question is not None
    assert (question.key, question.source) == ("which_channel", "pool")
    question = next_question(objective, state, asked={"which_channel"})
    assert question is not None
    assert question.key == "channel:generated"
    state, _ = run(objective, p("channel", "email"), state=state)
    question = next_question(objective, state, asked=())
    assert question is not None
    assert question.key == "sender_email"
    state_sms, _ = run(objective, p("channel", "sms", relation=Relation.REVISES), state=state)
    question = next_question(objective, state_sms, asked=())
    assert question is not None
    assert question.key == "sender_any"
    state, _ = run(objective, p("sender", "me@example.com"), state=state)
    assert next_question(objective, state, asked=()) is None


def test_a_contested_obligation_is_asked_first_with_both_values() -> None:
    objective = small()
    state, _ = run(objective, p("goal", "a", 0.5), p("goal", "b", 0.5))
    question = next_question(objective, state, asked=())
    assert question is not None
    assert question.obligation == "goal"
    assert "'a'" in question.text
    assert "'b'" in question.text


def test_gaps_list_required_obligations_below_their_confidence() -> None:
    objective = small()
    state, _ = run(objective, p("goal", "g", 0.5))
    assert [(g.obligation, g.status) for g in gaps(objective, state)] == [
        ("goal", PARTIAL),
        ("channel", PENDING),
    ]
    assert not met(objective, state)
    state, _ = run(objective, p("goal", "g", 0.9), p("channel", "sms"), state=state)
    assert gaps(objective, state) == []
    assert met(objective, state)


def test_requirements_carry_findings_gaps_and_candidates() -> None:
    objective = DEFAULT
    state, records = run(
        objective, p("goal", "Send a weekly sales report", kind=ExtractionKind.DECISION)
    )
    candidate = Candidate(kind="tool", name="mailer", version="1.0.0", score=1)
    doc = requirements(
        objective, state, {records[0].extraction_id: records[0]}, [candidate], True, "enough"
    )
    assert doc.goal == "Send a weekly sales report"
    assert [f.obligation for f in doc.findings] == [o.key for o in objective.obligations]
    assert doc.findings[0].extraction_kind is ExtractionKind.DECISION
    assert doc.forced
    assert doc.forced_reason == "enough"
    assert {g.obligation for g in doc.gaps} == {
        "inputs",
        "outputs",
        "success_criteria",
        "approvals",
    }
    assert doc.completeness == pytest.approx(1 / 5)
    assert doc.candidates == [candidate]


def test_confirming_the_current_value_settles_a_contest_on_it() -> None:
    objective = small()
    state, records = run(objective, p("goal", "a", 0.5), p("goal", "b", 0.9), p("goal", "A", 0.6))
    assert records[2].relation is Relation.CONFIRMS
    assert records[2].supersedes == records[0].extraction_id
    goal = state["goal"]
    assert (goal.value, goal.status, goal.contested_by, goal.contested_value) == (
        "a",
        SATISFIED,
        None,
        None,
    )


def test_a_second_contradiction_replaces_the_contesting_value() -> None:
    state, records = run(small(), p("goal", "a"), p("goal", "b"), p("goal", "c"))
    assert records[2].relation is Relation.CONTRADICTS
    assert (state["goal"].value, state["goal"].contested_value) == ("a", "c")
    assert state["goal"].contested_by == records[2].extraction_id


def test_supersedes_may_name_the_current_or_the_contesting_extraction() -> None:
    objective = small()
    state, records = run(objective, p("goal", "a"), p("goal", "b"))
    for named in (records[0].extraction_id, records[1].extraction_id):
        after, (rec,) = run(
            objective, p("goal", "c", relation=Relation.REVISES, supersedes=named), state=state
        )
        assert (rec.applied, rec.supersedes, after["goal"].value) == (True, named, "c")


def test_the_default_objective_from_first_question_to_the_gate() -> None:
    objective, asked = DEFAULT, set[str]()
    state = initial(objective)
    answers = {
        "goal": "Send each sales manager a weekly report of their region's deals",
        "inputs": ["CRM deals export", "a Monday 8:00 schedule"],
        "outputs": "An email per manager with a PDF summary",
        "constraints": "none",
        "success_criteria": "Every manager gets the report by 9:00",
        "tools": ["Salesforce", "Gmail"],
        "approvals": "The first run is approved by the sales director",
    }
    order = []
    while (question := next_question(objective, state, asked)) is not None:
        order.append(question.key)
        asked.add(question.key)
        state, (record,) = run(
            objective, p(question.obligation, answers[question.obligation]), state=state
        )
        assert record.applied, record.reason
    assert order == [
        "goal_intro",
        "inputs_sources",
        "outputs_result",
        "success_check",
        "approvals_any",
        "constraints_limits",
        "tools_systems",
    ]
    assert met(objective, state)
    doc = requirements(objective, state, {}, [], False, None)
    assert doc.completeness == 1.0
    assert doc.gaps == []


def test_the_approvals_rule_asks_about_the_tools_named() -> None:
    objective = DEFAULT
    state, _ = run(
        objective,
        p("goal", "Send weekly reports to managers"),
        p("outputs", "An email per manager"),
        p("tools", ["Gmail"], 0.5),
    )
    question = next_question(objective, state, asked={"inputs_sources", "success_check"})
    assert question is not None
    assert question.key in {"inputs:generated", "success_criteria:generated"}
    for key in ("inputs", "success_criteria"):
        state, _ = run(objective, p(key, "something"), state=state)
    question = next_question(objective, state, asked=set())
    assert question is not None
    assert question.key == "approvals_tools"


def test_the_goal_reads_as_text_whatever_its_shape() -> None:
    objective = objective_of(
        "g", 1, {"title": "G", "obligations": [{"key": "aim", "title": "Aim", "kind": "goal"}]}
    )
    for value, text in ((["a", "b"], "a; b"), ({"what": "x"}, '{"what": "x"}'), (3, "3")):
        state, _ = run(objective, p("aim", value))
        assert requirements(objective, state, {}, [], False, None).goal == text
    assert requirements(objective, initial(objective), {}, [], False, None).goal is None
