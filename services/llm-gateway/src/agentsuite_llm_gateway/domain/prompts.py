"""Prompt templates: chat messages with `{{ name }}` holes, the JSON Schema of their
variables, and the rules for names and labels. Pure: no I/O.

Rendering is plain substitution, one pass: a value is never scanned again for holes and
nothing is evaluated (no Jinja, no format strings), so a variable cannot smuggle template
syntax or reach anything but the text it lands in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import (  # type: ignore[import-untyped]
    SchemaError,
    ValidationError,
)

from agentsuite_llm_gateway.domain.errors import Code, GatewayError

# a hole is an identifier between double braces; anything else in braces is literal text,
# so templates quoting other template languages keep working
HOLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
LABEL = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
LATEST = "latest"  # reserved: always the newest version, never stored
PRODUCTION = "production"  # what a reference without label or version resolves

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
MAX_TEMPLATE_BYTES = 256_000
MAX_SCHEMA_BYTES = 64_000
MAX_PARAMS_BYTES = 16_000
# request fields a version's default params may not carry: the reference itself sets them
RESERVED_PARAMS = frozenset({"messages", "model", "prompt", "stream"})


class VariablesError(ValueError):
    """The variables a request supplied do not fit the version: which one, and why."""

    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"variable {variable!r}: {reason}")
        self.variable = variable
        self.reason = reason


def invalid(field: str, message: str) -> GatewayError:
    """A refused field of a prompt or version (the admin API answers 422 naming it)."""
    return GatewayError(Code.INVALID_REQUEST, f"{field}: {message}", param=field)


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise invalid("name", "1-128 letters, digits, '_', '.' or '-', starting alnum")
    return name


def check_label(label: str, field: str = "label") -> str:
    """A label that can be stored: its pattern, and not the reserved `latest`."""
    if not LABEL.fullmatch(label):
        raise invalid(field, "1-64 of a-z, 0-9, '_', '.' or '-', starting with a-z or 0-9")
    if label == LATEST:
        raise invalid(field, "'latest' is reserved: it always names the newest version")
    return label


def _texts(messages: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(path, text) of every string a hole may sit in: contents and content parts' text."""
    for i, message in enumerate(messages):
        content = message.get("content")
        if isinstance(content, str):
            yield f"messages[{i}].content", content
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    yield f"messages[{i}].content[{j}].text", part["text"]


def holes(messages: list[dict[str, Any]]) -> list[str]:
    """The variable names the template uses, in order of first use."""
    seen: dict[str, None] = {}
    for _, text in _texts(messages):
        for match in HOLE.finditer(text):
            seen.setdefault(match.group(1), None)
    return list(seen)


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def check_messages(messages: Any) -> list[dict[str, Any]]:  # noqa: C901  one check per field of an OpenAI chat message, each naming its path
    """A template's messages: OpenAI chat messages, bounded; GatewayError naming the path."""
    if not isinstance(messages, list) or not messages:
        raise invalid("messages", "a non-empty list of chat messages")
    if _size(messages) > MAX_TEMPLATE_BYTES:
        raise invalid("messages", f"at most {MAX_TEMPLATE_BYTES} bytes of JSON")
    for i, message in enumerate(messages):
        at = f"messages[{i}]"
        if not isinstance(message, dict):
            raise invalid(at, "a chat message object")
        role = message.get("role")
        if role not in ROLES:
            raise invalid(f"{at}.role", f"one of {', '.join(sorted(ROLES))}")
        content = message.get("content")
        if content is None:
            if role != "assistant" or not message.get("tool_calls"):
                raise invalid(f"{at}.content", "required (only an assistant tool call omits it)")
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                    raise invalid(f"{at}.content[{j}]", "a content part with a 'type'")
        elif not isinstance(content, str):
            raise invalid(f"{at}.content", "a string or a list of content parts")
    return messages


def derive_schema(names: list[str]) -> dict[str, Any]:
    """The schema of a version created without one: every hole a required string."""
    return {
        "type": "object",
        "properties": {name: {"type": "string"} for name in names},
        "required": list(names),
    }


def check_schema(schema: Any, names: list[str]) -> dict[str, Any]:
    """A version's variables schema: valid Draft 2020-12, an object, and covering every
    hole (required, or with a default), so a request that passes it always renders."""
    if not isinstance(schema, dict):
        raise invalid("variables", "a JSON Schema object")
    if _size(schema) > MAX_SCHEMA_BYTES:
        raise invalid("variables", f"at most {MAX_SCHEMA_BYTES} bytes of JSON")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise invalid(
            "variables", f"not a JSON Schema ({where or 'root'}): {exc.message}"
        ) from None
    if schema.get("type") != "object":
        raise invalid("variables", "the schema's type must be 'object'")
    remote = next(_remote_refs(schema), None)
    if remote is not None:
        raise invalid("variables", f"only local references (#...) are allowed, got {remote!r}")
    _probe(schema)
    required = schema.get("required", [])
    properties = schema.get("properties", {})
    for name in names:
        prop = properties.get(name)
        if name not in required and not (isinstance(prop, dict) and "default" in prop):
            raise invalid("variables", f"hole {{{{ {name} }}}} is neither required nor defaulted")
    return schema


def _remote_refs(value: Any) -> Iterator[str]:
    """Every $ref that leaves the document: the gateway fetches no schema from anywhere."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("$ref", "$dynamicRef") and not (isinstance(item, str) and item[:1] == "#"):
                yield str(item)
            else:
                yield from _remote_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _remote_refs(item)


def _probe(schema: dict[str, Any]) -> None:
    """Apply the schema once to a sample of its variables, so a reference to nowhere or
    one that only refers to itself is refused now, not on some later request."""
    properties = schema.get("properties")
    sample = {k: "" for k in properties} if isinstance(properties, dict) else {}
    checker = Draft202012Validator(schema)
    try:
        for instance in ({}, sample):
            for _ in checker.iter_errors(instance):
                pass
    except RecursionError:
        raise invalid("variables", "the schema refers to itself without end") from None
    except Exception as exc:  # referencing's errors: a $ref that resolves to nothing
        raise invalid("variables", f"the schema cannot be applied: {exc}") from None


def check_params(params: Any) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise invalid("params", "an object of request parameters")
    reserved = sorted(RESERVED_PARAMS & params.keys())
    if reserved:
        raise invalid(f"params.{reserved[0]}", "set by the request, not by a prompt version")
    if _size(params) > MAX_PARAMS_BYTES:
        raise invalid("params", f"at most {MAX_PARAMS_BYTES} bytes of JSON")
    return params


def _variable(error: ValidationError) -> tuple[str, str]:
    """(variable, reason) of a validation error: the top-level key it is about."""
    path = list(error.absolute_path)
    if path:
        inner = "/".join(str(p) for p in path[1:])
        return str(path[0]), (f"at {inner}: " if inner else "") + error.message
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [r for r in error.validator_value if r not in error.instance]
        if missing:
            return str(missing[0]), "is required"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        pattern_props = error.schema.get("patternProperties", {})
        extra = [
            k
            for k in error.instance
            if k not in known and not any(re.search(p, k) for p in pattern_props)
        ]
        if extra:
            return str(extra[0]), "is not a variable of this prompt"
    return "variables", error.message


def validator(schema: Mapping[str, Any]) -> Any:
    """The compiled checker of a variables schema (worth keeping with a cached version)."""
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def validate_variables(
    schema: Mapping[str, Any], values: Any, compiled: Any | None = None
) -> dict[str, Any]:
    """`values` checked against `schema` (or its `compiled` validator), with the schema's
    defaults filled in; the first problem (in a stable order) as VariablesError naming
    the variable."""
    if not isinstance(values, dict):
        raise VariablesError("variables", "must be an object")
    properties = schema.get("properties", {})
    filled = dict(values)
    if isinstance(properties, dict):
        for name, prop in properties.items():
            if name not in filled and isinstance(prop, dict) and "default" in prop:
                filled[name] = prop["default"]
    checker = compiled if compiled is not None else validator(schema)
    try:
        found = list(checker.iter_errors(filled))
    except Exception as exc:  # a reference the probe at creation did not reach
        raise VariablesError("variables", f"the prompt's schema cannot be applied: {exc}") from None
    errors = sorted(found, key=lambda e: ([str(p) for p in e.absolute_path], e.message))
    if errors:
        raise VariablesError(*_variable(errors[0]))
    return filled


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _fill(text: str, values: Mapping[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise VariablesError(name, "is required by the template and was not given")
        return _as_text(values[name])

    return HOLE.sub(one, text)


def render(messages: list[dict[str, Any]], values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The messages with every hole replaced by its value (non-strings as JSON); the
    template is not changed. VariablesError for a hole without a value."""
    out: list[dict[str, Any]] = []
    for message in messages:
        copy = dict(message)
        content = message.get("content")
        if isinstance(content, str):
            copy["content"] = _fill(content, values)
        elif isinstance(content, list):
            parts: list[Any] = []
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    part = {**part, "text": _fill(part["text"], values)}
                parts.append(part)
            copy["content"] = parts
        out.append(copy)
    return out
