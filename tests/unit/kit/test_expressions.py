"""References in step inputs: render, references, and the `${...}` syntax."""

from __future__ import annotations

from typing import Any

import pytest

from agentsuite_kit.expressions import ExpressionError, parse, references, render

SCOPE: dict[str, Any] = {
    "inputs": {"customer": {"id": 7, "name": "Ann"}, "tags": ["a", "b"], "a.b": 1},
    "steps": {
        "fetch-leads": {
            "output": {"items": [{"name": "Acme"}, {"name": "Bolt"}], "n": 2},
            "state": "succeeded",
        },
        "empty": {"output": None, "state": "succeeded"},
    },
    "lead": {"name": "Cora", "score": 0.5},
    "compensated": {"order": "o-1"},
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${inputs.customer.id}", 7),
        ("${inputs.customer}", {"id": 7, "name": "Ann"}),
        ("${inputs.tags}", ["a", "b"]),
        ("${steps.fetch-leads.output.items[0].name}", "Acme"),
        ("${steps.fetch-leads.output.items[-1].name}", "Bolt"),
        ("${steps.fetch-leads.output.items.1.name}", "Bolt"),
        ("${steps.fetch-leads.state}", "succeeded"),
        ("${lead}", {"name": "Cora", "score": 0.5}),
        ("${compensated.order}", "o-1"),
        ('${inputs["a.b"]}', 1),
        ("${inputs['a.b']}", 1),
        ("${ inputs.customer.id }", 7),
        ("${steps.empty.output}", None),
    ],
)
def test_a_lone_reference_becomes_the_value_with_its_type(template: str, expected: Any) -> None:
    assert render(template, SCOPE) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("id=${inputs.customer.id}", "id=7"),
        ("Hi ${inputs.customer.name}!", "Hi Ann!"),
        ("${inputs.customer.name}${inputs.customer.id}", "Ann7"),
        ("tags: ${inputs.tags}", 'tags: ["a", "b"]'),
        ("c: ${inputs.customer}", 'c: {"id": 7, "name": "Ann"}'),
        ("none: ${inputs.missing}", "none: null"),
        ("flag: ${steps.empty.output}", "flag: null"),
        ("score ${lead.score}", "score 0.5"),
    ],
)
def test_references_inside_text_are_interpolated_as_text(template: str, expected: str) -> None:
    assert render(template, SCOPE) == expected


def test_non_ascii_text_is_interpolated_verbatim() -> None:
    scope = {"inputs": {"city": {"name": "Zürich"}}}
    assert render("at ${inputs.city}", scope) == 'at {"name": "Zürich"}'


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$${inputs.x}", "${inputs.x}"),
        ("cost: $${inputs.x} is ${inputs.customer.id}", "cost: ${inputs.x} is 7"),
        ("$$${inputs.x}", "$${inputs.x}"),
        ("$5 and $$ and {}", "$5 and $$ and {}"),
    ],
)
def test_dollar_dollar_brace_escapes_a_literal_reference(template: str, expected: str) -> None:
    assert render(template, SCOPE) == expected


def test_render_walks_dicts_and_lists_and_keeps_other_values() -> None:
    value = {
        "id": "${inputs.customer.id}",
        "list": ["${lead.name}", 3, None, True, {"deep": "x ${lead.score}"}],
        "${inputs.customer.id}": "keys are not rendered",
    }
    assert render(value, SCOPE) == {
        "id": 7,
        "list": ["Cora", 3, None, True, {"deep": "x 0.5"}],
        "${inputs.customer.id}": "keys are not rendered",
    }


def test_rendering_does_not_change_the_input() -> None:
    value = {"a": ["${lead.name}"]}
    render(value, SCOPE)
    assert value == {"a": ["${lead.name}"]}


@pytest.mark.parametrize(
    "template",
    [
        "${inputs.customer.missing}",
        "${inputs.customer.missing.deeper[3]}",
        "${steps.fetch-leads.output.items[9]}",
        "${steps.fetch-leads.output.items[-3]}",
        "${steps.fetch-leads.output.n.x}",
        "${steps.fetch-leads.output.items.name}",
        "${inputs.customer[0]}",
        "${steps.empty.output.anything}",
    ],
)
def test_a_missing_key_below_a_known_name_is_null(template: str) -> None:
    assert render(template, SCOPE) is None


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("${steps.x.output}", "unknown step 'x' in ${steps.x.output}"),
        ("see ${steps.fetch.output}", "unknown step 'fetch' in ${steps.fetch.output}"),
        ("${item}", "unknown name 'item' in ${item}"),
        ("${input.customer}", "unknown name 'input'"),
    ],
)
def test_unknown_names_and_steps_are_errors(template: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message.replace("$", r"\$").replace("{", r"\{")):
        render(template, SCOPE)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("${inputs.x", "missing `}`"),
        ("a ${", "expected a name"),
        ("${}", "expected a name"),
        ("${inputs x}", "unexpected 'x'"),
        ("${inputs[x]}", r"unexpected '\['"),
        ("${inputs.}", r"unexpected '\.'"),
        ("${inputs..a}", r"unexpected '\.'"),
        ("${inputs[1.5]}", r"unexpected '\['"),
        ("${len(inputs)}", r"unexpected '\('"),
    ],
)
def test_malformed_references_say_what_and_where(template: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message) as err:
        render(template, SCOPE)
    assert "in reference" in str(err.value)


def test_malformed_references_fail_even_when_scope_would_not_be_needed() -> None:
    with pytest.raises(ExpressionError):
        render("${steps.a.output", {})


def test_references_collects_step_keys_from_nested_templates() -> None:
    value = {
        "a": "${steps.fetch-leads.output.items[0]}",
        "b": ["x ${steps.score.output} y ${inputs.q}", {"c": "${steps.other}"}],
        "d": "$${steps.escaped.output}",
        "e": "steps.plain-text.output is not a reference",
        "f": 42,
    }
    assert references(value) == {"fetch-leads", "score", "other"}


def test_references_ignores_inputs_items_and_bare_steps() -> None:
    assert references(["${inputs.steps}", "${item.steps}", "${steps}", '${steps["q"]}']) == {"q"}


def test_references_of_a_parsed_expression() -> None:
    node = parse(
        "steps.a.output.x > 1 and ${steps.b-c.output} in [steps.d.state] "
        "or len(steps.e.output[steps.f.output.i]) == 0 and not exists(steps.g)"
    )
    assert references(node) == {"a", "b-c", "d", "e", "f", "g"}


def test_references_refuses_malformed_templates() -> None:
    with pytest.raises(ExpressionError, match="missing"):
        references({"a": "${steps.a.output"})


def test_deeply_nested_values_are_an_expression_error_not_a_crash() -> None:
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ExpressionError, match="too deeply nested"):
        render("x ${inputs.deep}", {"inputs": {"deep": deep}})
    with pytest.raises(ExpressionError, match="too deeply nested"):
        render(deep, {})


def test_a_long_string_of_many_references_renders_each_one() -> None:
    text = "${ lead.name } " * 20_000
    assert render(text, SCOPE) == "Cora " * 20_000


def test_an_index_of_thousands_of_digits_is_an_expression_error_not_a_crash() -> None:
    # int() refuses more than 4,300 digits with a ValueError the engine does not expect
    with pytest.raises(ExpressionError, match="index too large"):
        render("${inputs.a[" + "9" * 5000 + "]}", {"inputs": {"a": [1]}})
