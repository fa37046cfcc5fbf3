"""Objectives: a tenant's definition checked, named by its first problem and where."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from agentsuite_contracts.discovery import ObligationKind
from agentsuite_discovery.domain.objectives import (
    DEFAULT,
    MAX_DEPENDENCIES,
    MAX_OBLIGATIONS,
    MAX_QUESTIONS,
    MAX_TEXT,
    body_of,
    check_key,
    objective_of,
)
from agentsuite_kit.errors import Invalid


def body(*obligations: dict[str, Any]) -> dict[str, Any]:
    return {"title": "T", "description": "d", "obligations": list(obligations)}


def ob(key: str, **more: Any) -> dict[str, Any]:
    return {"key": key, "title": key.title(), **more}


def refused(raw: dict[str, Any], key: str = "k") -> Invalid:
    with pytest.raises(Invalid) as caught:
        objective_of(key, 1, raw)
    return caught.value


def test_a_minimal_definition_gets_the_defaults() -> None:
    objective = objective_of("k", 3, body(ob("goal")))
    (goal,) = objective.obligations
    assert (objective.key, objective.version, objective.title) == ("k", 3, "T")
    assert (goal.kind, goal.required, goal.confidence) == (ObligationKind.OTHER, True, 0.8)
    assert (goal.validator, goal.depends_on, goal.questions) == (None, (), ())
    assert objective.by_key["goal"] is goal


def test_body_of_reads_back_into_the_same_objective() -> None:
    assert objective_of("default", 1, body_of(DEFAULT)) == DEFAULT
    raw = body(
        ob("a", kind="goal", confidence=0.5, validator={"type": "string"}),
        ob("b", depends_on=["a"], questions=[{"key": "q", "text": "?", "when": "answers.a"}]),
    )
    objective = objective_of("k", 1, raw)
    assert objective_of("k", 1, body_of(objective)) == objective


def test_the_default_objective_plans_an_agent_workflow() -> None:
    keys = [o.key for o in DEFAULT.obligations]
    assert keys == [
        "goal",
        "inputs",
        "outputs",
        "constraints",
        "success_criteria",
        "tools",
        "approvals",
    ]
    assert (DEFAULT.key, DEFAULT.version) == ("default", 1)
    assert all("goal" in o.depends_on for o in DEFAULT.obligations[1:])
    assert DEFAULT.by_key["goal"].required
    assert not DEFAULT.by_key["tools"].required
    assert any(q.when for q in DEFAULT.by_key["approvals"].questions)
    assert all(o.validator is not None for o in DEFAULT.obligations)


@pytest.mark.parametrize(
    ("raw", "code", "field"),
    [
        (body(ob("a"), ob("a")), "duplicate_key", "obligations[1].key"),
        (body(ob("a", depends_on=["zz"])), "unknown_dependency", "obligations[0].depends_on[0]"),
        (body(ob("a", depends_on=["a"])), "dependency_cycle", "obligations[0].depends_on[0]"),
        (
            body(ob("a", depends_on=["b"]), ob("b", depends_on=["c"]), ob("c", depends_on=["a"])),
            "dependency_cycle",
            "obligations[2].depends_on[0]",
        ),
        (
            body(ob("a", validator={"type": "nope"})),
            "invalid_validator",
            "obligations[0].validator",
        ),
        (body(ob("a", validator=[1])), "invalid_validator", "obligations[0].validator"),
        (
            body(ob("a", validator={"$ref": "#"})),
            "invalid_validator",
            "obligations[0].validator",
        ),
        (
            body(ob("a", questions=[{"key": "q", "text": "?", "when": "answers.a =="}])),
            "invalid_rule",
            "obligations[0].questions[0].when",
        ),
        (
            body(ob("a", questions=[{"key": "q", "text": "?", "when": "answers.zz == 1"}])),
            "invalid_rule",
            "obligations[0].questions[0].when",
        ),
        (
            body(ob("a", questions=[{"key": "q", "text": "?", "when": "steps.x.output"}])),
            "invalid_rule",
            "obligations[0].questions[0].when",
        ),
        (
            body(
                ob("a", questions=[{"key": "q", "text": "?"}]),
                ob("b", questions=[{"key": "q", "text": "?"}]),
            ),
            "duplicate_key",
            "obligations[1].questions[0].key",
        ),
        (
            body(*[ob(f"o{i}") for i in range(MAX_OBLIGATIONS + 1)]),
            "too_many_obligations",
            "obligations",
        ),
        (
            body(
                ob("a", questions=[{"key": f"q{i}", "text": "?"} for i in range(MAX_QUESTIONS + 1)])
            ),
            "too_many_questions",
            "obligations[0].questions",
        ),
        (
            body(ob("a", depends_on=["b"] * (MAX_DEPENDENCIES + 1))),
            "too_many_dependencies",
            "obligations[0].depends_on",
        ),
        (
            body(ob("a", description="x" * (MAX_TEXT + 1))),
            "text_too_long",
            "obligations[0].description",
        ),
        (body(ob("a", title="bad\x00")), "text_invalid", "obligations[0].title"),
        (body(ob("a", title="bad\ud800")), "text_invalid", "obligations[0].title"),
        (body(ob("A")), "key_invalid", "obligations[0].key"),
        (body(ob("a", confidence=1.5)), "confidence_invalid", "obligations[0].confidence"),
        (body(ob("a", confidence=True)), "confidence_invalid", "obligations[0].confidence"),
        (body(ob("a", required="yes")), "required_invalid", "obligations[0].required"),
        (body(ob("a", kind="wish")), "kind_invalid", "obligations[0].kind"),
        (body(ob("a", kind=["goal"])), "kind_invalid", "obligations[0].kind"),
        (body(ob("a", depends_on="b")), "not_a_list", "obligations[0].depends_on"),
        (body(ob("a", depends_on=[{"b": 1}])), "key_invalid", "obligations[0].depends_on[0]"),
        (
            body(ob("a", questions=[{"key": "q", "text": "?", "when": ["x"]}])),
            "text_invalid",
            "obligations[0].questions[0].when",
        ),
        (
            body(ob("a", questions=[{"key": "q", "text": "?", "when": "answers"}])),
            "invalid_rule",
            "obligations[0].questions[0].when",
        ),
        (
            body(ob("a", questions=[{"key": "q", "text": "?", "when": "answers[answers.a]"}])),
            "invalid_rule",
            "obligations[0].questions[0].when",
        ),
        (body(ob("a", questions=["q"])), "not_an_object", "obligations[0].questions[0]"),
        (body(ob("a", confidence=float("nan"))), "confidence_invalid", "obligations[0].confidence"),
        ({"title": "T", "obligations": {"a": 1}}, "not_a_list", "obligations"),
        ({"title": "T", "obligations": ["a"]}, "not_an_object", "obligations[0]"),
        (body(ob("a", colour="red")), "unknown_field", "obligations[0].colour"),
        (body(), "obligations_empty", "obligations"),
        ({"obligations": [ob("a")]}, "text_invalid", "title"),
    ],
)
def test_a_bad_definition_names_its_first_problem(
    raw: dict[str, Any], code: str, field: str
) -> None:
    problem = refused(raw)
    assert (problem.code, problem.field) == (code, field)


def test_a_validator_text_with_nul_is_refused() -> None:
    problem = refused(body(ob("a", validator={"type": "string", "description": "\x00"})))
    assert (problem.code, problem.field) == ("text_invalid", "obligations[0].validator")


def test_a_rule_may_read_any_known_answer() -> None:
    rule = 'answers.a == "x" and contains(answers.b, 1) or not exists(answers.a)'
    raw = body(ob("a"), ob("b", questions=[{"key": "q", "text": "?", "when": rule}]))
    assert objective_of("k", 1, raw).obligations[1].questions[0].when == rule


def test_tenant_keys_exclude_the_built_in_one() -> None:
    assert check_key("mine") == "mine"
    for key, code in (("default", "key_reserved"), ("Bad", "key_invalid"), (3, "key_invalid")):
        with pytest.raises(Invalid) as caught:
            check_key(key)
        assert caught.value.code == code


def test_a_body_naming_another_key_or_a_bad_version_is_refused() -> None:
    raw = copy.deepcopy(body(ob("a")))
    raw["key"] = "other"
    assert refused(raw).code == "key_mismatch"
    with pytest.raises(Invalid) as caught:
        objective_of("k", 0, body(ob("a")))
    assert caught.value.code == "version_invalid"


def test_a_validator_checked_once_is_known_by_its_content_only() -> None:
    good: dict[str, Any] = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 1}},
    }
    for _ in range(2):
        objective = objective_of("k", 1, body(ob("a", validator=copy.deepcopy(good))))
        assert objective.obligations[0].validator == good
    near = copy.deepcopy(good)
    near["properties"]["n"]["minimum"] = "one"
    problem = refused(body(ob("a", validator=near)))
    assert (problem.code, problem.field) == ("invalid_validator", "obligations[0].validator")
