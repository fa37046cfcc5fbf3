"""`$ref`s of an OpenAPI document: checked (local only, no chain that loops back on
itself) before the spec validator sees the document, and inlined into each operation's
schemas under a node budget, since a tool's schema carries no reference.

Both walks are bounded: the check iteratively, the inlining by `MAX_DEPTH` and the node
budget its caller passes (a `$ref` cycle, a recursive schema, is refused).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agentsuite_kit.errors import Invalid
from agentsuite_kit.schemas import MAX_NODES

MAX_DEPTH = 128  # nesting of one inlined schema
DATA = frozenset({"enum", "const", "example", "examples", "default"})  # values, not schemas


def walk(value: Any, place: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object of the document with its place; iterative (a deep document must not
    exhaust the stack)."""
    stack: list[tuple[str, Any]] = [(place, value)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            yield where, node
            stack.extend((f"{where}.{key}", item) for key, item in node.items())
        elif isinstance(node, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(node))


def pointer(document: Any, ref: str, field: str) -> Any:
    if not ref.startswith("#"):
        raise Invalid(
            "ref_external",
            f"$ref {ref[:200]!r} is not local: only #/... references are resolved (the import "
            "fetches nothing)",
            field=field,
        )
    node = document
    for raw in ref[1:].split("/")[1:] if ref != "#" else []:
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            raise Invalid("ref_unresolved", f"$ref {ref[:200]!r} points at nothing", field=field)
    return node


def check_refs(document: dict[str, Any]) -> None:
    """Every `$ref` local, and no chain of `$ref`s that leads back to itself."""
    for place, node in walk(document):
        ref = node.get("$ref")
        if not isinstance(ref, str):
            continue
        seen = [ref]
        target = pointer(document, ref, place)
        while isinstance(target, dict) and isinstance(target.get("$ref"), str):
            ref = target["$ref"]
            if ref in seen:
                raise Invalid(
                    "ref_cycle",
                    f"$ref {' -> '.join([*seen, ref])[:400]} leads back to itself",
                    field=place,
                )
            seen.append(ref)
            target = pointer(document, ref, place)


def inline(node: Any, document: Any, trail: tuple[str, ...], budget: list[int], field: str) -> Any:
    """`node` with every `$ref` replaced by what it points at; `trail` holds the refs being
    inlined (a cycle) and one "" a level (the depth)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise Invalid(
            "schema_too_large", f"the inlined schema passes {MAX_NODES} nodes", field=field
        )
    if len(trail) > MAX_DEPTH:
        raise Invalid("schema_too_deep", f"the schema nests past {MAX_DEPTH} levels", field=field)
    if isinstance(node, list):
        return [inline(item, document, trail, budget, field) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref in trail:
            raise Invalid(
                "ref_cycle",
                f"$ref {ref[:200]} is recursive: tools take schemas without references",
                field=field,
            )
        resolved = inline(pointer(document, ref, field), document, (*trail, ref), budget, field)
        rest = {k: v for k, v in node.items() if k != "$ref"}
        if rest and isinstance(resolved, dict):  # 3.1 allows keywords beside a $ref
            return {**resolved, **inline(rest, document, trail, budget, field)}
        return resolved
    return {
        key: value if key in DATA else inline(value, document, (*trail, ""), budget, field)
        for key, value in node.items()
    }
