"""The prompt discovery sends, and how it reads the model's answer."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.discovery import ExtractionKind, ObligationStatus, Relation
from agentsuite_contracts.llm import Role
from agentsuite_discovery.domain.objectives import (
    DEFAULT,
    MAX_OBLIGATIONS,
    MAX_QUESTIONS,
    MAX_TEXT,
    MAX_TITLE,
    Objective,
    objective_of,
)
from agentsuite_discovery.domain.prompts import (
    MAX_ANSWER_BYTES,
    MAX_EXTRACTIONS,
    MAX_SUMMARY,
    MAX_SYSTEM,
    RESPONSE_SCHEMA,
    AnswerInvalid,
    answer_of,
    messages,
    parse_answer,
    summary,
)
from agentsuite_discovery.domain.sessions import Proposed, apply, initial, next_question
from agentsuite_kit.schemas import check_schema
from agentsuite_kit.storable import text_flaw, unstorable


def ok(*items: Any, **more: Any) -> str:
    return json.dumps({"extractions": list(items), **more})


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def item(**fields: Any) -> dict[str, Any]:
    return {"obligation": "goal", "value": "v", "kind": "fact", "confidence": 0.9, **fields}


def test_a_well_formed_answer_gives_its_extractions_and_reply() -> None:
    sid = uuid4()
    answer = answer_of(ok(item(relation="revises", supersedes=str(sid)), reply="Thanks."))
    assert answer.reply == "Thanks."
    assert answer.extractions == [
        Proposed("goal", "v", ExtractionKind.FACT, 0.9, Relation.REVISES, sid, None)
    ]


def test_a_fenced_answer_is_read() -> None:
    assert len(parse_answer("```json\n" + ok(item()) + "\n```")) == 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"reply": "hi"}', "'extractions' is not a list"),
        ('{"extractions": 3}', "'extractions' is not a list"),
        ('{"extractions": [], "reply": 3}', "'reply' is not a string"),
        ('{"extractions": [{"obligation": "goal", "confidence": NaN}]}', "not JSON"),
        ('{"extractions": [{"confidence": 1e999}]}', "not JSON"),
        ("[" * 60_000, "not JSON"),
        ("x" * (MAX_ANSWER_BYTES + 1), "larger than"),
        (ok(*[item()] * (MAX_EXTRACTIONS + 1)), "more than"),
        ("1" * 5000, "not JSON"),
    ],
)
def test_a_bad_answer_says_why(text: str, reason: str) -> None:
    with pytest.raises(AnswerInvalid) as caught:
        parse_answer(text)
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (item(confidence="high"), "confidence is a number 0..1"),
        (item(confidence=True), "confidence is a number 0..1"),
        (item(confidence=10**400), "confidence is a number 0..1"),
        (item(obligation=None), "obligation is missing"),
        (item(obligation=5), "obligation is not a key"),
        (item(kind="guess"), "kind is one of fact, decision, inference"),
        (item(relation="maybe"), "relation is one of new, confirms, revises, contradicts"),
        (item(supersedes="nope"), "supersedes is an extraction id"),
        ({"obligation": "goal", "kind": "fact", "confidence": 1}, "value is missing"),
        ("just text", "an extraction is an object"),
        (item(value="a\x00b"), "value contains NUL (U+0000)"),
        (item(value={"k": ["\ud800"]}), "value at k[0] contains an unpaired surrogate (U+D800)"),
        (item(value=nested(33)), "value is nested deeper than 32 levels"),
        (item(obligation="go\x00al"), "obligation is not a key"),
        (item(obligation="g" * 300), "obligation is not a key"),
    ],
)
def test_a_malformed_item_is_recorded_rejected(raw: Any, problem: str) -> None:
    (proposed,) = parse_answer(ok(raw))
    assert proposed.problem == problem
    assert unstorable(proposed.value) is None
    assert text_flaw(proposed.obligation) is None
    _, (record,) = apply(DEFAULT, initial(DEFAULT), [proposed], uuid4)
    assert (record.applied, record.reason) == (False, f"invalid_extraction: {problem}")


def test_the_response_schema_is_a_checked_schema() -> None:
    assert check_schema(RESPONSE_SCHEMA, "schema") is RESPONSE_SCHEMA


def test_the_prompt_is_bounded_and_ends_with_the_users_turn() -> None:
    state, _ = apply(
        DEFAULT, initial(DEFAULT), [Proposed("goal", "g" * 50_000, confidence=0.9)], uuid4
    )
    recent = [("user" if n % 2 else "agent", f"turn {n} " + "x" * 500) for n in range(1_000)]
    question = next_question(DEFAULT, state, ())
    out = messages(
        DEFAULT, state, summary(DEFAULT, state), recent, "my turn", question, recent_chars=3_000
    )
    assert out[-1].role is Role.USER
    assert out[-1].content == "my turn"
    assert out[0].role is Role.SYSTEM
    assert sum(len(m.content or "") for m in out) < 30_000
    middle = [m.content for m in out[2:-1]]
    assert middle
    assert middle[-1] == recent[-1][1]
    assert sum(len(t or "") for t in middle) <= 3_000


def test_the_summary_names_settled_values() -> None:
    assert summary(DEFAULT, initial(DEFAULT)) == "Nothing settled yet."
    state, _ = apply(
        DEFAULT, initial(DEFAULT), [Proposed("goal", "weekly report", confidence=0.9)], uuid4
    )
    assert "weekly report" in summary(DEFAULT, state)


def test_uuid_ids_in_records() -> None:
    _, (record,) = apply(
        DEFAULT, initial(DEFAULT), parse_answer(ok(item(value="Send weekly reports"))), uuid4
    )
    assert isinstance(record.extraction_id, UUID)
    assert record.applied


def largest() -> Objective:
    """An objective at every bound: 100 obligations, 20 questions each, texts at length."""
    text = "t" * MAX_TEXT
    obligations = [
        {
            "key": f"o{i:02d}" + "x" * 59,
            "title": "T" * MAX_TITLE,
            "description": text,
            "questions": [{"key": f"q{i}_{j}", "text": text} for j in range(MAX_QUESTIONS)],
        }
        for i in range(MAX_OBLIGATIONS)
    ]
    return objective_of(
        "big", 1, {"title": "B" * MAX_TITLE, "description": text, "obligations": obligations}
    )


def test_the_prompt_is_bounded_at_every_bound_of_the_objective() -> None:
    objective = largest()
    state = initial(objective)
    # each obligation filled apart: together they are past the session's value budget (a
    # state stored before it, or a larger budget, must still give a bounded prompt)
    for o in objective.obligations:
        proposed = [Proposed(o.key, c * 60_000, confidence=0.5) for c in "vw"]
        alone, records = apply(objective, initial(objective), proposed, uuid4)
        assert all(r.applied for r in records)
        state[o.key] = alone[o.key]
    question = next_question(objective, state, ())
    out = messages(
        objective, state, summary(objective, state), [("user", "x" * 10**6)], "hi", question
    )
    assert len(out[0].content or "") <= MAX_SYSTEM
    assert sum(len(m.content or "") for m in out) <= MAX_SYSTEM + MAX_SUMMARY + 3_000
    assert out[-1].content == "hi"


def test_a_contest_loaded_without_its_value_still_reads() -> None:
    objective = DEFAULT
    state, _ = apply(
        objective,
        initial(objective),
        [Proposed("goal", "Weekly sales reports", confidence=0.9)],
        uuid4,
    )
    state["goal"] = replace(state["goal"], status=ObligationStatus.CONTESTED, contested_by=uuid4())
    question = next_question(objective, state, ())
    assert question is not None
    assert "'Weekly sales reports' and another" in question.text
    assert "contradicted by another value" in summary(objective, state)
    assert "contradicted by another value" in (
        messages(objective, state, "", [], "x", question)[0].content or ""
    )
    state, (record,) = apply(
        objective,
        state,
        [Proposed("goal", "Daily sales reports", confidence=0.9, relation=Relation.REVISES)],
        uuid4,
    )
    assert record.applied
    assert state["goal"].status is ObligationStatus.SATISFIED
