"""A tool's input and output JSON Schemas: checked as Draft 2020-12 schemas (`jsonschema`),
bounded, and free of `$ref` loops, so validating a payload against one always ends.

`$ref` is limited to JSON pointers into the same document (`#`, `#/$defs/x`): catalog never
fetches a remote schema (an SSRF and a hang), and a document that only points into itself
can be checked for loops here. A loop is a chain of in-place applicators (`$ref`, `allOf`,
`anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `dependentSchemas`) that comes back to a schema
without descending into the instance: evaluating it would never end. Recursion through
`properties` or `items` (a tree of nodes) descends, so it is allowed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs published
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]  # no stubs

from agentsuite_kit.errors import Invalid

# nodes (objects, arrays and scalars) in one schema: generous for any real tool, small
# enough that checking and comparing one is quick
MAX_NODES = 20_000
MAX_ERRORS = 20  # reported by a validation
IN_PLACE = ("allOf", "anyOf", "oneOf")
IN_PLACE_ONE = ("not", "if", "then", "else")
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
    return schema


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


def violations(schema: dict[str, Any], value: Any) -> list[Violation]:
    """Why `value` does not match `schema` (a checked one): at most MAX_ERRORS reasons."""
    found: list[Violation] = []
    try:
        for error in Draft202012Validator(schema).iter_errors(value):
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
    return found
