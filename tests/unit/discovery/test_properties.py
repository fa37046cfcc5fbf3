"""Properties of the session rules and of reading the model's answer, over random
objectives, extraction sequences and texts (hypothesis)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from agentsuite_contracts.discovery import ExtractionKind, ExtractionRecorded, Relation
from agentsuite_contracts.llm import Role
from agentsuite_discovery.domain.objectives import DEFAULT, Objective, body_of, objective_of
from agentsuite_discovery.domain.prompts import AnswerInvalid, messages, parse_answer
from agentsuite_discovery.domain.sessions import (
    CONTESTED,
    SATISFIED,
    Applied,
    ObligationState,
    Proposed,
    State,
    answers,
    apply,
    gaps,
    initial,
    met,
    next_question,
    status_of,
)
from agentsuite_kit.errors import Invalid
from agentsuite_kit.expressions import ExpressionError, evaluate, truthy

VALUES = ["a", "b", "c", "A ", 1, 2.5, True, ["x"], {"k": "v"}]
RULES = [None, 'answers.o0 == "a"', "answers.o1 != null", "exists(answers.o0)", "answers.o0 > 1"]


@st.composite
def objectives(draw: st.DrawFn, validators: bool = True) -> Objective:
    n = draw(st.integers(1, 6))
    obligations = []
    for i in range(n):
        deps = draw(st.lists(st.integers(0, i - 1), max_size=2, unique=True)) if i else []
        rules = draw(st.lists(st.sampled_from(RULES), max_size=3))
        questions = [
            {"key": f"q{i}_{j}", "text": "?", **({"when": r} if r else {})}
            for j, r in enumerate(rules)
            if r is None or int(r.split(".o")[1][0]) < n
        ]
        validator = (
            draw(st.sampled_from([None, {"type": "string"}, {"enum": ["a", "b", 1]}]))
            if validators
            else None
        )
        obligations.append(
            {
                "key": f"o{i}",
                "title": f"O{i}",
                "required": draw(st.booleans()),
                "confidence": draw(st.sampled_from([0.0, 0.5, 0.8, 1.0])),
                "validator": validator,
                "depends_on": [f"o{d}" for d in deps],
                "questions": questions,
            }
        )
    return objective_of("k", 1, {"title": "T", "obligations": obligations})


def counter() -> Callable[[], UUID]:
    n = iter(range(1, 10**9))
    return lambda: UUID(int=next(n))


@st.composite
def proposal(draw: st.DrawFn, objective: Objective, state: State) -> Proposed:
    keys = [o.key for o in objective.obligations]
    key = draw(st.sampled_from([*keys, "unknown"]))
    current = state.get(key)
    known = [i for i in (current.extraction_id, current.contested_by) if i] if current else []
    supersedes = draw(st.sampled_from([None, None, uuid4(), *known]))
    return Proposed(
        obligation=key,
        value=draw(st.sampled_from([*VALUES, None])),
        kind=draw(st.sampled_from(list(ExtractionKind))),
        confidence=draw(st.sampled_from([0.0, 0.3, 0.5, 0.9, 1.0, 1.5, float("nan")])),
        relation=draw(st.sampled_from([None, *Relation])),
        supersedes=supersedes,
        problem=draw(st.sampled_from([None, None, None, "bad"])),
    )


def consistent(objective: Objective, state: State) -> None:
    for o in objective.obligations:
        s = state[o.key]
        assert s.status is status_of(o, s)
        assert (s.status is CONTESTED) == (s.contested_by is not None)
        assert (s.extraction_id is None) == (s.value is None)
        assert 0 <= s.confidence <= 1
        if s.status is SATISFIED:
            assert s.confidence + 1e-9 >= o.confidence


@settings(max_examples=100, deadline=None)
@given(st.data(), objectives())
def test_apply_records_each_extraction_once_and_rejections_change_nothing(
    data: st.DataObject, objective: Objective
) -> None:
    state = initial(objective)
    new_id = counter()
    for _ in range(data.draw(st.integers(1, 15))):
        batch = data.draw(st.lists(proposal(objective, state), min_size=1, max_size=3))
        after, records = apply(objective, state, batch, new_id)
        assert [r.proposed for r in records] == batch
        assert len({r.extraction_id for r in records}) == len(batch)
        if all(not r.applied for r in records):
            assert after == state
        for record in records:
            assert record.applied == (record.reason is None)
            single, (again,) = apply(objective, state, [record.proposed], counter())
            if not again.applied:
                assert single == state
            else:
                assert record.proposed.obligation in objective.by_key
        consistent(objective, after)
        state = after


@settings(max_examples=200, deadline=None)
@given(st.data(), objectives())
def test_next_question_asks_only_what_is_askable(data: st.DataObject, objective: Objective) -> None:
    state = initial(objective)
    asked: set[str] = set()
    for _ in range(data.draw(st.integers(0, 20))):
        state, _ = apply(objective, state, [data.draw(proposal(objective, state))], uuid4)
        question = next_question(objective, state, asked)
        assert met(objective, state) == (gaps(objective, state) == [])
        assert met(objective, state) == all(
            state[o.key].status is SATISFIED for o in objective.obligations if o.required
        )
        if question is None:
            assert all(
                state[o.key].status is SATISFIED
                or any(state[d].status is not SATISFIED for d in o.depends_on)
                for o in objective.obligations
            )
            continue
        obligation = objective.by_key[question.obligation]
        assert state[obligation.key].status is not SATISFIED
        assert all(state[d].status is SATISFIED for d in obligation.depends_on)
        if question.source == "pool":
            assert question.key not in asked
            if question.when is not None:
                scope = {"answers": answers(objective, state)}
                try:
                    assert truthy(evaluate(question.when, scope))
                except ExpressionError:
                    raise AssertionError(
                        "a rule that cannot evaluate was taken as holding"
                    ) from None
        else:
            assert question.key == f"{obligation.key}:generated"
        if data.draw(st.booleans()):
            asked.add(question.key)


@settings(max_examples=200, deadline=None)
@given(st.data(), objectives(validators=False))
def test_a_later_revision_resolves_a_contest(data: st.DataObject, objective: Objective) -> None:
    key = data.draw(st.sampled_from([o.key for o in objective.obligations]))
    first, second, third = data.draw(st.permutations(["one", "two", "three"]))
    confidence = data.draw(st.sampled_from([0.2, 0.9]))
    state, records = apply(
        objective,
        initial(objective),
        [Proposed(key, first, confidence=0.9), Proposed(key, second, confidence=0.9)],
        uuid4,
    )
    assert records[1].relation is Relation.CONTRADICTS
    assert state[key].status is CONTESTED
    assert state[key].value == first
    state, (record,) = apply(
        objective,
        state,
        [Proposed(key, third, confidence=confidence, relation=Relation.REVISES)],
        uuid4,
    )
    assert record.applied
    assert record.relation is Relation.REVISES
    assert state[key].status is not CONTESTED
    assert (state[key].value, state[key].contested_by) == (third, None)
    assert state[key].confidence == confidence


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
ITEM = st.fixed_dictionaries(
    {},
    optional={
        "obligation": st.sampled_from(["goal", "o0", "", None, 3]) | st.text(max_size=5),
        "value": JSON,
        "kind": st.sampled_from([*ExtractionKind, "guess", None, 1]),
        "confidence": st.sampled_from([0, 0.5, 1, -1, 2, "high", None, True, 10**400]),
        "relation": st.sampled_from([*Relation, "maybe", None, []]),
        "supersedes": st.sampled_from([None, str(uuid4()), "x", 5, "0" * 200]),
    },
)
TEXTS = (
    st.text(alphabet=st.characters(blacklist_categories=()), max_size=200)
    | JSON.map(json.dumps)
    | st.lists(ITEM | JSON, max_size=5).map(lambda items: json.dumps({"extractions": items}))
    | st.builds(lambda s: s, st.sampled_from(["NaN", "[" * 5000, '{"extractions": [1e999]}']))
)


@settings(max_examples=400, deadline=None)
@given(TEXTS, objectives())
def test_reading_any_text_gives_extractions_or_a_reason(text: str, objective: Objective) -> None:
    reason: str | None = None
    try:
        proposed = parse_answer(text)
    except AnswerInvalid as bad:
        reason = bad.reason
        proposed = []
    assert reason is None or reason
    _, records = apply(objective, initial(objective), proposed, uuid4)
    assert len(records) == len(proposed)
    for record in records:
        assert_recordable(record)


def assert_recordable(record: Applied) -> None:
    """What the service records of it: a valid event, storable as JSON text."""
    p = record.proposed
    event = ExtractionRecorded(
        session_id=uuid4(),
        extraction_id=record.extraction_id,
        turn_id=None,
        obligation=p.obligation,
        value=p.value,
        confidence=p.confidence,
        kind=p.kind,
        relation=record.relation,
        supersedes=record.supersedes,
        applied=record.applied,
        reason=record.reason,
    )
    json.dumps(event.model_dump(mode="json"), allow_nan=False).encode("utf-8")


def test_state_is_a_plain_mapping_of_states() -> None:
    objective = objective_of("k", 1, {"title": "T", "obligations": [{"key": "a", "title": "A"}]})
    assert initial(objective) == {"a": ObligationState("a")}


SCALARS = [None, True, 0, 0.5, 2, -1, "", "a", "goal", "b", "A", "x" * 3000, "\x00", "\ud800"]
SHAPES = [[], {}, ["a"], ["a", "a"], ["b"], ["goal"], {"type": "string"}, {"type": "nope"}]
RULE_TEXTS = ["answers.a == 1", "answers.zz", "steps.a", "answers.a ==", "other", {"$ref": "#"}]
FIELD_VALUES = st.sampled_from([*SCALARS, *SHAPES, *RULE_TEXTS])
OBLIGATION_BODY = st.dictionaries(
    st.sampled_from(
        [
            *("key", "title", "description", "kind", "required", "confidence", "validator"),
            *("depends_on", "questions", "extra"),
        ]
    ),
    FIELD_VALUES
    | st.lists(
        st.fixed_dictionaries(
            {"key": FIELD_VALUES}, optional={"text": FIELD_VALUES, "when": FIELD_VALUES}
        ),
        max_size=3,
    ),
    max_size=9,
)


@settings(max_examples=400, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "title": FIELD_VALUES,
            "obligations": st.lists(OBLIGATION_BODY, max_size=4) | FIELD_VALUES,
        },
        optional={"description": FIELD_VALUES, "other": FIELD_VALUES},
    )
)
def test_any_definition_is_an_objective_or_invalid(raw: dict[str, Any]) -> None:
    try:
        objective = objective_of("k", 1, raw)
    except Invalid as bad:
        problem: Invalid | None = bad
    else:
        problem = None
        assert objective_of("k", 1, body_of(objective)) == objective
    assert problem is None or (problem.code and problem.field)


@settings(max_examples=100, deadline=None)
@given(st.data(), objectives())
def test_replaying_the_applied_extractions_rebuilds_the_state(
    data: st.DataObject, objective: Objective
) -> None:
    """History is enough: the applied extractions alone, in order, give the same state."""
    state, kept = initial(objective), []
    for _ in range(data.draw(st.integers(1, 12))):
        state, records = apply(objective, state, [data.draw(proposal(objective, state))], uuid4)
        kept += [r for r in records if r.applied]
    ids = iter([r.extraction_id for r in kept])
    replayed, again = apply(objective, initial(objective), [r.proposed for r in kept], ids.__next__)
    assert replayed == state
    assert all(r.applied for r in again)
    assert [r.relation for r in again] == [r.relation for r in kept]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["user", "agent"]), st.text(max_size=3_000)), max_size=40),
    st.text(min_size=1, max_size=9_000),
    st.integers(0, 20_000),
)
def test_the_prompt_is_bounded_and_ends_with_the_turn(
    recent: list[tuple[str, str]], turn: str, budget: int
) -> None:
    objective = DEFAULT
    out = messages(
        objective, initial(objective), "s" * 10_000, recent, turn, None, recent_chars=budget
    )
    assert out[-1].role is Role.USER
    assert out[-1].content == turn
    middle = out[2:-1]
    assert sum(len(m.content or "") for m in middle) <= budget
    assert [m.content for m in middle] == [t for _, t in recent[len(recent) - len(middle) :]]
