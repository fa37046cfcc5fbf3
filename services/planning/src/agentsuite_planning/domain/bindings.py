"""Whether a tool step's `input` can match the tool's input schema before any run: the
literal parts are checked with the kit's schema validation; a value that is wholly one
`${...}` reference is taken as any type (its value is only known at run time), one that
interpolates references into text is a string."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from agentsuite_kit.errors import Invalid
from agentsuite_kit.schemas import compiled, violations

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
# one validation's: (property subschema as JSON, value) -> its violations, as one plan meets
# the same literal against the same subschema many times (modes, flags, limits); the
# subschema's JSON -> its compiled validator (building one costs more than a check); a
# schema's id -> what is read of it once (`_Schema`)
Memo = dict[Any, Any]


@dataclass(frozen=True, slots=True)
class _Schema:
    """What binding checks read of a tool's input schema, once per validation."""

    schema: Mapping[str, Any]  # kept, so its id (the memo's key) stays its
    properties: dict[str, Any]
    # a property's subschema as JSON: the memo's key for verdicts on its literals, shared
    # by every tool with the same subschema (`limit`, `mode`, ...)
    texts: dict[str, str]
    per_property: bool  # literals checked one property at a time, each verdict memoised
    object_ok: bool  # the schema's type takes an object


def binding_issues(
    schema: Mapping[str, Any], value: dict[str, Any], memo: Memo | None = None
) -> Iterator[tuple[str, str]]:
    """(sub-path under `input`, why) for each part of `value` the schema refuses; `memo`
    (one per validation) remembers the verdicts on literals already checked."""
    if not schema:
        return
    memo = {} if memo is None else memo
    info = _read(schema, memo)
    yield from _presence(schema, info.properties, value)
    literal: dict[str, tuple[Any, Any]] = {}  # name -> (value, its memo key)
    yield from _split(info.properties, value, literal)
    if not literal:
        return
    if not info.per_property:
        yield from _loose(schema, literal)
    elif not info.object_ok:
        yield "", f"the tool's input schema wants {schema.get('type')}, not an object"
    else:
        yield from _per_property(info, literal, memo)


def _split(
    properties: dict[str, Any], value: dict[str, Any], literal: dict[str, tuple[Any, Any]]
) -> Iterator[tuple[str, str]]:
    """Text with references the schema will not take as text; the literals into `literal`
    with their memo keys (a wholly-referenced value is neither)."""
    for name, v in value.items():
        if isinstance(v, str):
            if "${" not in v:
                literal[name] = (v, (str, v))
            elif _shape(v) is str:
                wanted = properties.get(name)
                if isinstance(wanted, dict) and not _may_be_string(wanted):
                    why = f"{name!r} is text with references; the schema wants {wanted.get('type')}"
                    yield f".{name}", why
        elif v is None or isinstance(v, int | float):
            # the type too: True == 1 in Python, not in a schema's eyes
            literal[name] = (v, (type(v), v))
        else:
            # repr, not JSON, for the containers: 3x cheaper, and the same value written
            # in another key order only misses. It leaves `$` and `{` as they are: a `${`
            # in it is one in a string (a key holding one counts too, which only spares
            # that value the check)
            try:
                text = repr(v)
            except RecursionError:  # nested thousands deep: not checked, like a reference
                continue
            if "${" not in text:
                literal[name] = (v, text)


def _per_property(
    info: _Schema, literal: dict[str, tuple[Any, Any]], memo: Memo
) -> Iterator[tuple[str, str]]:
    for name, (v, known) in literal.items():
        text = info.texts.get(name)
        if text is None:
            continue  # closed schemas refused unknown names above; open ones take anything
        key = (text, known)
        found = memo.get(key)
        if found is None:
            sub = info.properties[name]
            checker = memo.get(text)
            if checker is None:  # one per distinct subschema, reused for its values
                checker = memo[text] = compiled(sub)
            found = memo[key] = [
                (f.path[1:], f.message) for f in violations(sub, v, validator=checker)
            ]
        for path, message in found:
            yield f".{name}{path}", message


def _loose(
    schema: Mapping[str, Any], literal: dict[str, tuple[Any, Any]]
) -> Iterator[tuple[str, str]]:
    # the literals against the schema alone: what is required or closed is checked apart
    loose = {k: x for k, x in schema.items() if k not in ("required", "additionalProperties")}
    try:
        violated = violations(loose, {name: v for name, (v, _) in literal.items()})
    except Invalid as exc:  # a schema stored before a rule refused its `$ref` loop
        yield "", f"the tool's input schema cannot be checked: {exc.message}"
        return
    for one in violated:
        yield one.path[1:], one.message


def _read(schema: Mapping[str, Any], memo: Memo) -> _Schema:
    known = memo.get(id(schema))
    if isinstance(known, _Schema) and known.schema is schema:
        return known
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    kind = schema.get("type")
    per_property = schema.keys() <= _PER_PROPERTY and "$ref" not in json.dumps(
        schema, sort_keys=True
    )
    texts = (
        {k: json.dumps(x, sort_keys=True) for k, x in properties.items() if isinstance(x, dict)}
        if per_property
        else {}
    )
    object_ok = kind in (None, "object") or (isinstance(kind, list) and "object" in kind)
    info = _Schema(schema, properties, texts, per_property, object_ok)
    memo[id(schema)] = info
    return info


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


def _shape(v: str) -> Any:
    """`_OPEN` for text that is wholly one reference, `str` for text with references in it."""
    stripped = v.strip()
    if stripped.startswith("${") and stripped.endswith("}") and stripped.count("${") == 1:
        return _OPEN
    return str


def _may_be_string(schema: dict[str, Any]) -> bool:
    wanted = schema.get("type")
    if wanted is None:
        return True
    return wanted == "string" or (isinstance(wanted, list) and "string" in wanted)
