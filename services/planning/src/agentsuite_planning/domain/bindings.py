"""Whether a tool step's `input` can match the tool's input schema before any run: the
literal parts are checked with the kit's schema validation; a value that is wholly one
`${...}` reference is taken as any type (its value is only known at run time), one that
interpolates references into text is a string."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from agentsuite_kit.errors import Invalid
from agentsuite_kit.schemas import violations

_OPEN = object()  # stands for a value only known at run time
# schema keywords under which a literal can be checked one property at a time: each
# property's value against its own subschema (no keyword relates two properties)
_PER_PROPERTY = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "title",
        "description",
        "$schema",
        "$id",
        "$comment",
        "examples",
        "default",
    }
)
# (property subschema, value) as JSON -> its violations: one validation of a plan meets the
# same literal against the same subschema many times (modes, flags, limits), and jsonschema
# costs ~0.2 ms a value
Memo = dict[Any, Any]


def binding_issues(
    schema: Mapping[str, Any], value: dict[str, Any], memo: Memo | None = None
) -> Iterator[tuple[str, str]]:
    """(sub-path under `input`, why) for each part of `value` the schema refuses; `memo`
    (one per validation) remembers the verdicts on literals already checked."""
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
    if not literal:
        return
    memo = {} if memo is None else memo
    if schema.keys() <= _PER_PROPERTY and "$ref" not in _text(schema, memo):
        yield from _per_property(properties, schema.get("type"), literal, memo)
        return
    # the literals against the schema alone: what is required or closed is checked above
    loose = {k: x for k, x in schema.items() if k not in ("required", "additionalProperties")}
    try:
        found = violations(loose, literal)
    except Invalid as exc:  # a schema stored before a rule refused its `$ref` loop
        yield "", f"the tool's input schema cannot be checked: {exc.message}"
        return
    for one in found:
        yield one.path[1:], one.message


def _per_property(
    properties: dict[str, Any], kind: Any, literal: dict[str, Any], memo: Memo
) -> Iterator[tuple[str, str]]:
    if kind not in (None, "object") and not (isinstance(kind, list) and "object" in kind):
        yield "", f"the tool's input schema wants {kind}, not an object"
        return
    for name, v in literal.items():
        sub = properties.get(name)
        if not isinstance(sub, dict):
            continue  # closed schemas refused unknown names above; open ones take anything
        key = (_text(sub, memo), _key(v))
        found = memo.get(key)
        if found is None:
            found = memo[key] = [(f.path[1:], f.message) for f in violations(sub, v)]
        for path, message in found:
            yield f".{name}{path}", message


def _key(v: Any) -> Any:
    # the type too: True == 1 in Python, not in a schema's eyes. repr, not JSON, for the
    # containers: 3x cheaper, and the same value written in another key order only misses
    if v is None or isinstance(v, str | int | float | bool):
        return (type(v), v)
    try:
        return repr(v)
    except RecursionError:  # nested thousands deep: not worth remembering
        return object()


def _text(schema: Mapping[str, Any], memo: Memo) -> str:
    """The schema as JSON, once per schema object (kept in the memo, so its id stays its)."""
    known = memo.get(id(schema))
    if known is None or known[0] is not schema:
        known = memo[id(schema)] = (schema, json.dumps(schema, sort_keys=True))
    return str(known[1])


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
    try:
        # repr leaves `$` and `{` as they are: a `${` in it is one in a string (a key
        # holding one counts too, which only spares that value the check)
        return "${" in repr(value)
    except RecursionError:  # nested thousands deep: not checked, like a reference
        return True


def _may_be_string(schema: dict[str, Any]) -> bool:
    wanted = schema.get("type")
    if wanted is None:
        return True
    return wanted == "string" or (isinstance(wanted, list) and "string" in wanted)
