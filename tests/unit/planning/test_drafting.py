"""planning drafting (pure): the prompt's bound, the answer read and repaired (total)."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentsuite_contracts.discovery import Finding, ObligationKind, ObligationStatus, Requirements
from agentsuite_planning.domain.drafting import (
    BODY_SCHEMA,
    MAX_PROMPT_CHARS,
    DraftInvalid,
    body_of,
    prompt,
    requirements_of,
)


def _finding(key: str, value: Any) -> Finding:
    return Finding(
        obligation=key,
        title=f"title of {key}",
        kind=ObligationKind.OUTPUT,
        required=True,
        status=ObligationStatus.SATISFIED,
        value=value,
        confidence=0.9,
        required_confidence=0.7,
        extraction_id=uuid4(),
    )


def _requirements(n: int = 3, value: Any = "send a weekly report") -> Requirements:
    return Requirements(
        objective="workflow",
        objective_version=1,
        goal="qualify inbound leads",
        findings=[_finding(f"req-{i}", value) for i in range(n)],
        completeness=1.0,
    )


def _tool(key: str, deps: list[str] | None = None) -> dict[str, Any]:
    return {
        "key": key,
        "name": key,
        "kind": "tool",
        "tool": {"tool": "http.get", "input": {}},
        "depends_on": deps or [],
    }


def test_the_prompt_is_bounded_however_many_findings() -> None:
    big = _requirements(5_000, value="x" * 10_000)
    messages = prompt(big)
    user = messages[-1].content
    assert user is not None
    assert len(user) <= MAX_PROMPT_CHARS
    assert "more lines left out" in user
    assert "req-0" in user


def test_the_prompt_names_goal_findings_and_kinds() -> None:
    messages = prompt(_requirements())
    assert "qualify inbound leads" in (messages[1].content or "")
    assert "req-2" in (messages[1].content or "")
    assert "approval" in (messages[0].content or "")


def test_the_schema_asks_for_phases_not_ids() -> None:
    assert "phases" in BODY_SCHEMA["properties"]
    assert "plan_id" not in BODY_SCHEMA["properties"]


def test_requirements_are_the_findings_with_values() -> None:
    req = _requirements(2)
    req.findings.append(_finding("empty", None))
    sid = uuid4()
    got = requirements_of(sid, req)
    assert [r.key for r in got] == ["req-0", "req-1"]
    assert all(r.session_id == sid for r in got)


def test_a_good_answer_reads_unchanged() -> None:
    doc = {
        "name": "Leads",
        "goal": "g",
        "phases": [{"key": "p", "name": "P", "steps": [_tool("a"), _tool("b", ["a"])]}],
    }
    drafted = body_of(json.dumps(doc))
    assert drafted.repairs == []
    assert [s.key for s in drafted.body.phases[0].steps] == ["a", "b"]


def test_repairs_keys_names_kinds_and_dependencies() -> None:
    steps = [
        _tool("a"),
        {**_tool("a"), "name": ""},  # duplicate key, no name
        {"name": "Ask Model", "kind": "tool", "llm": {"prompt": "hi"}},  # no key, wrong kind
        _tool("c", ["a", "ghost", "c"]),  # unknown and self dependency
    ]
    doc = {"phases": [{"steps": steps}]}
    drafted = body_of("```json\n" + json.dumps(doc) + "\n```", default_name="From session")
    body = drafted.body
    keys = [s.key for s in body.phases[0].steps]
    assert keys == ["a", "a-2", "ask-model", "c"]
    assert body.phases[0].steps[1].name == "a-2"
    assert body.phases[0].steps[2].kind == "llm"
    assert body.phases[0].steps[3].depends_on == ["a"]
    assert body.name == "From session"
    assert body.phases[0].key == "phase-1"
    assert drafted.repairs


def test_a_cycle_is_kept_for_validation_to_report() -> None:
    doc = {"phases": [{"key": "p", "name": "P", "steps": [_tool("a", ["b"]), _tool("b", ["a"])]}]}
    body = body_of(json.dumps(doc)).body
    assert body.phases[0].steps[0].depends_on == ["b"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json at all", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"phases": 3}', "no 'phases' list"),
        ('{"phases": [{"steps": [{"kind": "tool"}]}]}', "no usable step"),
        ('{"x": NaN}', "not JSON"),
    ],
)
def test_unusable_answers_say_why(text: str, reason: str) -> None:
    with pytest.raises(DraftInvalid) as caught:
        body_of(text)
    assert reason in caught.value.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=40,
)
step_like = st.fixed_dictionaries(
    {},
    optional={
        "key": st.one_of(st.text(max_size=12), st.integers()),
        "name": st.one_of(st.text(max_size=12), st.none()),
        "kind": st.sampled_from(["tool", "llm", "wait", "bogus", 3]),
        "tool": st.one_of(st.just({"tool": "t"}), json_values),
        "llm": st.one_of(st.just({"prompt": "p"}), json_values),
        "wait": st.one_of(st.just({"duration_ms": 5}), st.just({}), json_values),
        "depends_on": st.one_of(st.lists(st.text(max_size=6), max_size=4), json_values),
        "retry": json_values,
    },
)
plan_like = st.fixed_dictionaries(
    {},
    optional={
        "name": json_values,
        "budget": json_values,
        "phases": st.one_of(
            json_values,
            st.lists(
                st.fixed_dictionaries(
                    {}, optional={"key": json_values, "steps": st.lists(step_like, max_size=6)}
                ),
                max_size=3,
            ),
        ),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), json_values.map(json.dumps), plan_like.map(json.dumps)))
def test_any_text_is_a_plan_body_or_a_reason(text: str) -> None:
    try:
        drafted = body_of(text)
    except DraftInvalid as bad:
        reason = bad.reason
        assert reason, "a refusal says why"
        return
    keys = [s.key for p in drafted.body.phases for s in p.steps]
    assert keys
    assert len(keys) == len(set(keys))
    known = set(keys)
    for phase in drafted.body.phases:
        for step in phase.steps:
            assert set(step.depends_on) <= known - {step.key}


def test_a_dependency_follows_the_step_its_key_was_repaired_on() -> None:
    doc = {
        "phases": [
            {
                "key": "p",
                "name": "P",
                "steps": [_tool("Fetch Leads"), _tool("score", ["Fetch Leads"])],
            }
        ]
    }
    steps = body_of(json.dumps(doc)).body.phases[0].steps
    assert [s.key for s in steps] == ["fetch-leads", "score"]
    assert steps[1].depends_on == ["fetch-leads"]


def test_text_postgres_cannot_hold_is_escaped_in_every_field_of_the_answer() -> None:
    # only names and goals were escaped: a NUL in a compensation, a prompt or a tool input
    # reached the jsonb INSERT of the drafted version and failed it on every redelivery
    from agentsuite_kit.storable import unstorable

    answer = {
        "name": "n",
        "goal": "g",
        "phases": [
            {
                "key": "m",
                "name": "m",
                "steps": [
                    {"key": "a", "name": "a", "kind": "wait", "wait": {"duration_ms": 5}},
                    {
                        "key": "b",
                        "name": "b",
                        "kind": "llm",
                        "llm": {"prompt": "p\u0000", "system": "\ud800"},
                        "compensation": "a\u0000",
                        "serves": ["r\u0000"],
                        "retry": {"retry_on": ["x\udfff"]},
                    },
                    {
                        "key": "c",
                        "name": "c",
                        "kind": "tool",
                        "tool": {"tool": "t\u0000", "input": {"k\u0000": ["v\u0000"]}},
                    },
                ],
            }
        ],
    }
    drafted = body_of(json.dumps(answer))
    assert unstorable(drafted.body.model_dump(mode="json")) is None
