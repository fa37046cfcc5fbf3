"""Prompt templates: holes, schema derivation, variable validation, rendering, names."""

from __future__ import annotations

from typing import Any

import pytest

from agentsuite_llm_gateway.domain import prompts as p
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.prompts import parse_ref

TEMPLATE: list[dict[str, Any]] = [
    {"role": "system", "content": "You answer in {{lang}}."},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "Summarise {{ doc }} for {{lang}}"},
            {"type": "image_url", "image_url": {"url": "https://x/{{ doc }}.png"}},
        ],
    },
]


def test_holes_in_strings_and_text_parts_in_first_use_order() -> None:
    assert p.holes(TEMPLATE) == ["lang", "doc"]


def test_braces_that_are_not_identifiers_stay_text() -> None:
    messages = [{"role": "user", "content": "{{ a.b }} {{1x}} {x} {{ ok }}"}]
    assert p.holes(messages) == ["ok"]
    assert p.render(messages, {"ok": "y"})[0]["content"] == "{{ a.b }} {{1x}} {x} y"


def test_render_fills_strings_and_parts_and_leaves_other_parts_and_template_alone() -> None:
    out = p.render(TEMPLATE, {"lang": "French", "doc": "the memo"})
    assert out[0]["content"] == "You answer in French."
    assert out[1]["content"][0] == {"type": "text", "text": "Summarise the memo for French"}
    # only text is a hole's home: a URL is not rewritten
    assert out[1]["content"][1]["image_url"]["url"] == "https://x/{{ doc }}.png"
    assert TEMPLATE[0]["content"] == "You answer in {{lang}}."


def test_render_non_strings_as_json_and_never_rescans_values() -> None:
    messages = [{"role": "user", "content": "{{a}}|{{b}}|{{c}}|{{d}}"}]
    out = p.render(messages, {"a": {"k": [1, "é"]}, "b": 3, "c": None, "d": "{{a}} {0} %s"})
    assert out[0]["content"] == '{"k": [1, "é"]}|3|null|{{a}} {0} %s'


def test_render_refuses_a_hole_without_value() -> None:
    with pytest.raises(p.VariablesError) as caught:
        p.render([{"role": "user", "content": "hi {{ who }}"}], {})
    assert caught.value.variable == "who"


def test_derived_schema_requires_every_hole_as_string() -> None:
    schema = p.derive_schema(p.holes(TEMPLATE))
    assert schema == {
        "type": "object",
        "properties": {"lang": {"type": "string"}, "doc": {"type": "string"}},
        "required": ["lang", "doc"],
    }
    with pytest.raises(p.VariablesError) as caught:
        p.validate_variables(schema, {"lang": "fr", "doc": 5})
    assert caught.value.variable == "doc"
    assert "string" in caught.value.reason


def test_validation_names_missing_and_unknown_variables() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 1}, "tone": {"default": "dry"}},
        "required": ["n"],
        "additionalProperties": False,
    }
    with pytest.raises(p.VariablesError) as missing:
        p.validate_variables(schema, {})
    assert (missing.value.variable, missing.value.reason) == ("n", "is required")
    with pytest.raises(p.VariablesError) as extra:
        p.validate_variables(schema, {"n": 2, "colour": "red"})
    assert extra.value.variable == "colour"
    with pytest.raises(p.VariablesError) as low:
        p.validate_variables(schema, {"n": 0})
    assert low.value.variable == "n"
    assert "minimum" in str(low.value)
    assert p.validate_variables(schema, {"n": 2}) == {"n": 2, "tone": "dry"}


def test_validation_names_the_variable_of_a_nested_error() -> None:
    schema = {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"type": "string"}}},
        "required": ["items"],
    }
    with pytest.raises(p.VariablesError) as caught:
        p.validate_variables(schema, {"items": ["a", 2]})
    assert caught.value.variable == "items"
    assert caught.value.reason.startswith("at 1:")


def test_validation_checks_formats() -> None:
    schema = {"type": "object", "properties": {"to": {"type": "string", "format": "email"}}}
    with pytest.raises(p.VariablesError):
        p.validate_variables(schema, {"to": "not an address"})


def test_variables_must_be_an_object() -> None:
    with pytest.raises(p.VariablesError) as caught:
        p.validate_variables({"type": "object"}, ["x"])
    assert caught.value.variable == "variables"


def test_schema_checks() -> None:
    names = ["a"]
    with pytest.raises(GatewayError, match="not a JSON Schema"):
        p.check_schema({"type": "object", "properties": {"a": {"type": 5}}}, names)
    with pytest.raises(GatewayError, match="type must be 'object'"):
        p.check_schema({"type": "string"}, names)
    with pytest.raises(GatewayError, match="neither required nor defaulted"):
        p.check_schema({"type": "object", "properties": {"a": {"type": "string"}}}, names)
    ok = {"type": "object", "properties": {"a": {"type": "string", "default": "x"}}}
    assert p.check_schema(ok, names) is ok


@pytest.mark.parametrize(
    ("prop", "reason"),
    [
        ({"$ref": "http://example.com/s.json"}, "only local references"),
        ({"items": {"$ref": "other.json#/x"}}, "only local references"),
        ({"$ref": "#/nope"}, "cannot be applied"),
        ({"$ref": "#/properties/a"}, "refers to itself"),
    ],
)
def test_schemas_with_references_that_cannot_work_are_refused(
    prop: dict[str, Any], reason: str
) -> None:
    schema = {"type": "object", "properties": {"a": prop}, "required": ["a"]}
    with pytest.raises(GatewayError, match=reason):
        p.check_schema(schema, ["a"])


def test_local_references_work() -> None:
    schema = {
        "type": "object",
        "$defs": {"short": {"type": "string", "maxLength": 3}},
        "properties": {"a": {"$ref": "#/$defs/short"}},
        "required": ["a"],
    }
    p.check_schema(schema, ["a"])
    with pytest.raises(p.VariablesError) as caught:
        p.validate_variables(schema, {"a": "long"})
    assert caught.value.variable == "a"


@pytest.mark.parametrize(
    ("messages", "field"),
    [
        ([], "messages"),
        ([{"role": "robot", "content": "x"}], "messages[0].role"),
        ([{"role": "user"}], "messages[0].content"),
        ([{"role": "user", "content": 3}], "messages[0].content"),
        ([{"role": "user", "content": [{"text": "x"}]}], "messages[0].content[0]"),
        (["hi"], "messages[0]"),
    ],
)
def test_bad_messages_name_the_path(messages: Any, field: str) -> None:
    with pytest.raises(GatewayError) as caught:
        p.check_messages(messages)
    assert caught.value.param == field


def test_assistant_tool_call_without_content_is_a_message() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    p.check_messages([{"role": "assistant", "content": None, "tool_calls": [call]}])


def test_params_may_not_carry_request_fields() -> None:
    with pytest.raises(GatewayError) as caught:
        p.check_params({"temperature": 0.2, "model": "x"})
    assert caught.value.param == "params.model"
    assert p.check_params({"temperature": 0.2}) == {"temperature": 0.2}


@pytest.mark.parametrize("label", ["production", "staging", "v1.2", "a", "0-canary_x", "a" * 64])
def test_good_labels(label: str) -> None:
    assert p.check_label(label) == label


@pytest.mark.parametrize("label", ["", "Prod", "-x", ".x", "a b", "a/b", "a" * 65, "latest"])
def test_bad_labels(label: str) -> None:
    with pytest.raises(GatewayError) as caught:
        p.check_label(label, "labels[0]")
    assert caught.value.param == "labels[0]"


@pytest.mark.parametrize("name", ["", "a/b", "-a", "a b", "x" * 129])
def test_bad_prompt_names(name: str) -> None:
    with pytest.raises(GatewayError):
        p.check_name(name)


def test_parse_ref_names_the_bad_field() -> None:
    assert parse_ref({"name": "greet", "label": "staging"}).variables == {}
    for ref, param in [
        ("greet", "prompt"),
        ({"label": "x"}, "prompt.name"),
        ({"name": "g", "version": True}, "prompt.version"),
        ({"name": "g", "version": "2"}, "prompt.version"),
        ({"name": "g", "label": 3}, "prompt.label"),
        ({"name": "g", "variables": [1]}, "prompt.variables"),
        ({"name": "g", "vars": {}}, "prompt.vars"),
    ]:
        with pytest.raises(GatewayError) as caught:
            parse_ref(ref)
        assert caught.value.param == param, ref
    with pytest.raises(GatewayError) as bad_vars:
        parse_ref({"name": "g", "variables": "x"})
    assert bad_vars.value.code is Code.INVALID_VARIABLES
