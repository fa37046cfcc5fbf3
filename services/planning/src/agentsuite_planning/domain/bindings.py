"""Whether a tool step's `input` can match the tool's input schema before any run: the
literal parts are checked with the kit's schema validation; a value that is wholly one
`${...}` reference is taken as any type (its value is only known at run time), one that
interpolates references into text is a string."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from agentsuite_kit.schemas import violations

_OPEN = object()  # stands for a value only known at run time


def binding_issues(schema: Mapping[str, Any], value: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(sub-path under `input`, why) for each part of `value` the schema refuses."""
    if not schema:
        return
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    yield from _presence(schema, properties, value)
    literal: dict[str, Any] = {}
    for name, v in value.items():
        kind = _shape(v)
        wanted = properties.get(name)
        if kind is str and isinstance(wanted, dict) and not _may_be_string(wanted):
            yield (
                f".{name}",
                f"{name!r} is text with references; the schema wants {wanted.get('type')}",
            )
        elif kind is dict:
            literal[name] = v
    if literal:
        # the literals against the schema alone: what is required or closed is checked above
        loose = {k: x for k, x in schema.items() if k not in ("required", "additionalProperties")}
        for found in violations(loose, literal):
            yield found.path[1:], found.message


def _presence(
    schema: Mapping[str, Any], properties: dict[str, Any], value: dict[str, Any]
) -> Iterator[tuple[str, str]]:
    required = schema.get("required")
    for name in required if isinstance(required, list) else []:
        if isinstance(name, str) and name not in value:
            yield "", f"required property {name!r} is missing"
    # patternProperties: a name may match one; checked with the literals, not here
    if schema.get("additionalProperties") is False and not schema.get("patternProperties"):
        for name in value:
            if name not in properties:
                yield f".{name}", f"property {name!r} is not in the tool's input schema"


def _shape(v: Any) -> Any:
    """`_OPEN` for a wholly-referenced or nested-referenced value, `str` for text with
    references in it, `dict` for a plain literal (checked)."""
    if isinstance(v, str) and "${" in v:
        stripped = v.strip()
        if stripped.startswith("${") and stripped.endswith("}") and stripped.count("${") == 1:
            return _OPEN
        return str
    if isinstance(v, dict | list) and _has_reference(v):
        return _OPEN
    return dict


def _has_reference(value: Any) -> bool:
    todo = [value]
    while todo:
        v = todo.pop()
        if isinstance(v, str):
            if "${" in v:
                return True
        elif isinstance(v, dict):
            todo.extend(v.values())
        elif isinstance(v, list):
            todo.extend(v)
    return False


def _may_be_string(schema: dict[str, Any]) -> bool:
    wanted = schema.get("type")
    if wanted is None:
        return True
    return wanted == "string" or (isinstance(wanted, list) and "string" in wanted)
