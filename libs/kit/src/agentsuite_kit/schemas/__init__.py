"""Tenant-written JSON Schemas (a tool's input and output, an obligation's validator): checked
as Draft 2020-12 (`jsonschema`), bounded, and free of `$ref` loops, so validating a value
against one always ends.

`$ref` is limited to JSON pointers into the same document (`#`, `#/$defs/x`): catalog never
fetches a remote schema (an SSRF and a hang), and a document that only points into itself
can be checked for loops here. A loop is a chain of in-place applicators (`$ref`, `allOf`,
`anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `dependentSchemas`) that comes back to a schema
without descending into the instance: evaluating it would never end. Recursion through
`properties` or `items` (a tree of nodes) descends, so it is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs published
from jsonschema.exceptions import (  # type: ignore[import-untyped]  # no stubs
    SchemaError,
    ValidationError,
)
from jsonschema.validators import extend  # type: ignore[import-untyped]  # no stubs

from agentsuite_kit.errors import Invalid
from agentsuite_kit.schemas.patterns import backtracking_risk

# nodes (objects, arrays and scalars) in one schema: generous for any real tool, small
# enough that checking and comparing one is quick
MAX_NODES = 20_000
MAX_ERRORS = 20  # reported by a validation
IN_PLACE = ("allOf", "anyOf", "oneOf")
IN_PLACE_ONE = ("not", "if", "then", "else")
# characters of one string checked against a tenant's pattern, and of all of them in one
# validation: what `patterns` leaves is at worst cubic in a string's length (`.*a.*x`:
# ~0.1 s for 1,000 characters here), and a 512 KiB body holds many strings
MAX_PATTERN_INPUT = 1_000
MAX_PATTERN_WORK = 16_000
# keywords whose values are data, not schemas: a `$ref` key inside them is not a reference
DATA = frozenset({"enum", "const", "examples", "default"})


def nodes(value: Any) -> Iterator[Any]:
    """Every node of a JSON value, iteratively (a deep one cannot exhaust the stack)."""
    stack = [value]
    while stack:
        item = stack.pop()
        yield item
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def subschemas(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The objects of a schema document that may be schemas (data keywords skipped)."""
    stack: list[Any] = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(v for k, v in item.items() if k not in DATA)
        elif isinstance(item, list):
            stack.extend(item)


def check_schema(schema: Any, field: str) -> dict[str, Any]:
    """`schema` if it is a bounded, loop-free Draft 2020-12 schema object; else Invalid."""
    if not isinstance(schema, dict):
        raise Invalid("schema_invalid", "a JSON Schema here is an object", field=field)
    for count, _ in enumerate(nodes(schema), start=1):
        if count > MAX_NODES:
            raise Invalid(
                "schema_too_large", f"a schema has at most {MAX_NODES} nodes", field=field
            )
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        raise Invalid(
            "schema_invalid",
            f"not a Draft 2020-12 JSON Schema at '/{where}': {exc.message[:300]}",
            field=field,
        ) from None
    _check_refs(schema, field)
    _check_patterns(schema, field)
    return schema


def _check_patterns(document: dict[str, Any], field: str) -> None:
    """Refuse a `pattern` or `patternProperties` key `re` may backtrack on without end:
    execution checks inputs against these schemas with `re` too."""
    for node in subschemas(document):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        keyed = node.get("patternProperties")
        found += list(keyed) if isinstance(keyed, dict) else []
        for pattern in found:
            risk = backtracking_risk(pattern)
            if risk is not None:
                raise Invalid(
                    "pattern_unsafe",
                    f"pattern {pattern[:200]!r} may backtrack without end on a hostile "
                    f"string ({risk}): rewrite it, e.g. without nested quantifiers",
                    field=field,
                )


def _pointer(document: dict[str, Any], ref: str, field: str) -> Any:
    if ref != "#" and not ref.startswith("#/"):
        raise Invalid(
            "schema_ref_unsupported",
            f"$ref {ref[:200]!r}: only JSON pointers into the same schema ('#/...') are "
            "allowed; catalog never fetches schemas",
            field=field,
        )
    target: Any = document
    for raw in ref[2:].split("/") if ref != "#" else ():
        token = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict) and token in target:
            target = target[token]
        elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
            target = target[int(token)]
        else:
            raise Invalid(
                "schema_ref_unresolved", f"$ref {ref[:200]!r} points nowhere", field=field
            )
    return target


def _in_place(node: dict[str, Any], document: dict[str, Any], field: str) -> Iterator[Any]:
    """The subschemas `node` applies to the same instance location."""
    ref = node.get("$ref")
    if isinstance(ref, str):
        yield _pointer(document, ref, field)
    for key in IN_PLACE:
        yield from node.get(key) or ()
    for key in IN_PLACE_ONE:
        if key in node:
            yield node[key]
    dependent = node.get("dependentSchemas")
    if isinstance(dependent, dict):
        yield from dependent.values()


def _check_refs(document: dict[str, Any], field: str) -> None:
    """Refuse remote or dangling `$ref`s, `$dynamicRef`, and in-place loops."""
    schemas = list(subschemas(document))
    by_id = {id(s): s for s in schemas}
    graph: dict[int, list[int]] = {}
    for node in schemas:
        if "$dynamicRef" in node or "$recursiveRef" in node:
            raise Invalid(
                "schema_ref_unsupported", "$dynamicRef is not supported here", field=field
            )
        if "$id" in node and node is not document:
            # a nested $id starts a new resource whose '#' is not the document's: the loop
            # check below reads every pointer from the root, so it must be the only base
            raise Invalid(
                "schema_ref_unsupported", "$id is allowed at the schema's root only", field=field
            )
        graph[id(node)] = [id(t) for t in _in_place(node, document, field) if isinstance(t, dict)]
    # iterative three-colour depth-first search over the in-place edges
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for start in graph:
        if state.get(start):
            continue
        stack: list[tuple[int, Iterator[int]]] = [(start, iter(graph[start]))]
        state[start] = 1
        while stack:
            node_id, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node_id] = 2
                stack.pop()
            elif state.get(child) == 1:
                raise Invalid(
                    "schema_ref_cycle",
                    "the schema's $ref/allOf/anyOf/oneOf chain loops back on itself without "
                    "descending into the value: validating anything against it never ends",
                    field=field,
                )
            elif not state.get(child) and child in by_id:
                state[child] = 1
                stack.append((child, iter(graph.get(child, ()))))


@dataclass(frozen=True, slots=True)
class Violation:
    path: str
    message: str


class _Budget:
    """What one validation may still match against a tenant's patterns."""

    def __init__(self) -> None:
        self.spent = 0

    def unchecked(self, pattern: str, text: str) -> str | None:
        """Why `text` is not matched against `pattern`: a pattern `patterns` refuses (a
        schema stored before that rule), or text past MAX_PATTERN_INPUT / _WORK."""
        risk = backtracking_risk(pattern)
        if risk is not None:
            return f"pattern {pattern[:200]!r} may backtrack without end ({risk}): not checked"
        if len(text) > MAX_PATTERN_INPUT:
            return f"longer than {MAX_PATTERN_INPUT} characters: not checked against a pattern"
        self.spent += len(text)
        if self.spent > MAX_PATTERN_WORK:
            return f"over {MAX_PATTERN_WORK} characters in all checked against patterns"
        return None


# the budget of the validation running in this task or thread: the validator class is built
# once (jsonschema's `extend` costs ~0.4 ms, 90% of a small validation) and its keywords
# read the budget each validation sets
_BUDGET: ContextVar[_Budget] = ContextVar("schema_pattern_budget")


def _pattern(validator: Any, wanted: str, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "string"):
        return
    reason = _BUDGET.get().unchecked(wanted, instance)
    if reason is not None:
        yield ValidationError(reason)
    elif not re.search(wanted, instance):
        yield ValidationError(f"{instance[:200]!r} does not match {wanted[:200]!r}")


def _pattern_properties(validator: Any, keyed: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    budget = _BUDGET.get()
    for wanted, subschema in keyed.items():
        for key, value in instance.items():
            reason = budget.unchecked(wanted, key)
            if reason is not None:
                yield ValidationError(f"property {key[:200]!r}: {reason}")
            elif re.search(wanted, key):
                yield from validator.descend(value, subschema, path=key, schema_path=wanted)


# Draft 2020-12 whose `pattern` and `patternProperties` run bounded (`_Budget`)
_BOUNDED = extend(
    Draft202012Validator, {"pattern": _pattern, "patternProperties": _pattern_properties}
)


def compiled(schema: dict[str, Any]) -> Any:
    """`schema`'s validator, for `violations` over many values: building one costs ~50 us,
    more than checking a small value against it."""
    return _BOUNDED(schema)


def violations(schema: dict[str, Any], value: Any, *, validator: Any = None) -> list[Violation]:
    """Why `value` does not match `schema` (a checked one): at most MAX_ERRORS reasons.
    `validator`: `compiled(schema)`, when the caller checks many values against it."""
    found: list[Violation] = []
    token = _BUDGET.set(_Budget())
    try:
        for error in (validator or _BOUNDED(schema)).iter_errors(value):
            path = error.absolute_path
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
            found.append(Violation("$" + where, error.message[:300]))
            if len(found) >= MAX_ERRORS:
                break
    except RecursionError:
        # check_schema refuses the loops it knows; a schema stored before a rule existed
        # must still answer, not crash the request
        raise Invalid(
            "schema_ref_cycle", "validating against this schema does not end", field="schema"
        ) from None
    finally:
        _BUDGET.reset(token)
    return found
