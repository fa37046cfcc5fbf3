"""Whether a new input schema breaks callers of the old one: the rule that decides whether
publishing a version needs a major bump.

A caller sends input the old schema accepted; the new one breaks it when it may refuse such
input. Understood precisely are `properties`, `required`, `type` and `enum`: a removed or
newly required property, a narrowed type or a narrowed enum breaks; an added optional
property, a widened type or enum does not. Any other change of a validation keyword (a
pattern, a bound, `additionalProperties`, `$ref`s, ...) counts as breaking, because telling
a widening from a narrowing there is not worth the risk. Annotations (title, description,
examples, comments) never change what validates, so they may change freely.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

UNDERSTOOD = frozenset({"properties", "required", "type", "enum"})
ANNOTATIONS = frozenset(
    {"title", "description", "examples", "$comment", "deprecated", "readOnly", "writeOnly"}
)
ALL_TYPES = frozenset({"null", "boolean", "object", "array", "number", "string", "integer"})


@dataclass(frozen=True, order=True, slots=True)
class Break:
    """One way the new schema may refuse what the old one accepted."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def _types(schema: dict[str, Any]) -> frozenset[str]:
    declared = schema.get("type")
    if declared is None:
        return ALL_TYPES
    names = frozenset([declared] if isinstance(declared, str) else declared)
    # every integer is a number: a type list with "number" accepts integers too
    return names | {"integer"} if "number" in names else names


def _key(value: Any) -> str:
    # enum members compared by their JSON text (True and 1 are different JSON values)
    return json.dumps(value, sort_keys=True)


def breaks(old: Any, new: Any, path: str = "$") -> list[Break]:
    """Every break from `old` to `new` (checked schemas), sorted; empty: compatible.

    Iterative over the property tree: a deep schema cannot exhaust the stack."""
    found: list[Break] = []
    pending: list[tuple[Any, Any, str]] = [(old, new, path)]
    while pending:
        before, after, at = pending.pop()
        if after is True or _key(before) == _key(after):
            continue  # `true` accepts everything; equal schemas accept the same
        if not isinstance(before, dict) or not isinstance(after, dict):
            found.append(Break(at, "the schema changed from or to a boolean schema"))
            continue
        found.extend(_object_breaks(before, after, at, pending))
    return sorted(found)


def _object_breaks(
    before: dict[str, Any],
    after: dict[str, Any],
    at: str,
    pending: list[tuple[Any, Any, str]],
) -> list[Break]:
    found: list[Break] = []
    narrowed = _types(before) - _types(after)
    if narrowed:
        found.append(Break(at, f"type narrowed: {', '.join(sorted(narrowed))} no longer accepted"))
    if "enum" in after:
        if "enum" not in before:
            found.append(Break(at, "an enum now restricts the values"))
        else:
            kept = {_key(v) for v in after["enum"]}
            lost = [v for v in before["enum"] if _key(v) not in kept]
            if lost:
                found.append(Break(at, f"enum narrowed: {_key(lost)[:200]} no longer accepted"))
    newly = sorted(set(after.get("required", ())) - set(before.get("required", ())))
    if newly:
        found.append(Break(at, f"newly required: {', '.join(newly)[:200]}"))
    old_props: dict[str, Any] = before.get("properties", {})
    new_props: dict[str, Any] = after.get("properties", {})
    for name in sorted(old_props.keys() - new_props.keys()):
        found.append(Break(f"{at}.{name}", "property removed"))
    for name in sorted(old_props.keys() & new_props.keys()):
        pending.append((old_props[name], new_props[name], f"{at}.{name}"))
    skipped = UNDERSTOOD | ANNOTATIONS
    for keyword in sorted((before.keys() | after.keys()) - skipped):
        if (
            keyword not in before
            or keyword not in after
            or (_key(before[keyword]) != _key(after[keyword]))
        ):
            found.append(
                Break(
                    at,
                    f"{keyword} changed (only widening properties, required, type and enum "
                    "is known to be safe)",
                )
            )
    return found
