"""Compatibility check between two JSON Schemas of the same payload.

Within a topic version a schema may only grow optional fields, values of enums marked
open (`x-open-enum`), and new message types on a topic (consumers skip types they do not
handle). Anything else breaks a consumer (an old one rejects what a new producer sends)
or a replay (a new consumer rejects a stored message) and needs a new topic version. The
verdicts agree with what consumers accept; tests hold both to one table of cases.
Pure functions: no I/O, so tests can feed synthetic schemas.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from agentsuite_contracts.marks import OPEN_ENUM

Schema = Mapping[str, Any]

ChangeKind = Literal[
    "removed_field",
    "retyped",
    "now_required",
    "new_required_field",
    "enum_value_removed",
    "enum_value_added",
    "constraint_changed",
    "literal_changed",
    "payload_removed",
]


@dataclass(frozen=True, order=True)
class Change:
    """One breaking difference between an old and a new schema."""

    path: str
    kind: ChangeKind
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind}: {self.detail}"


def breaking_changes(old: Schema, new: Schema) -> list[Change]:
    """Every breaking change from `old` to `new`; empty when `new` is compatible."""
    return sorted(set(_Comparer(old, new).compare(old, new, "$")))


@dataclass(frozen=True)
class Report:
    """Result of comparing current payload schemas with their snapshots, by message type."""

    breaking: dict[str, list[Change]] = field(default_factory=dict)
    missing_snapshots: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No breaking change and every payload snapshotted."""
        return not self.breaking and not self.missing_snapshots

    def lines(self) -> list[str]:
        """Human-readable findings, one per line."""
        out = [f"{t}: {c}" for t, cs in sorted(self.breaking.items()) for c in cs]
        out += [
            f"{t}: no snapshot (run `agentsuite-contracts snapshot`)"
            for t in self.missing_snapshots
        ]
        return out


def compare_all(snapshots: Mapping[str, Schema], current: Mapping[str, Schema]) -> Report:
    """Compare every current schema with its snapshot (both keyed by message type)."""
    report = Report()
    for type_ in sorted(set(snapshots) - set(current)):
        report.breaking[type_] = [Change("$", "payload_removed", "message type no longer exists")]
    for type_, schema in sorted(current.items()):
        snap = snapshots.get(type_)
        if snap is None:
            report.missing_snapshots.append(type_)
            continue
        if snap != schema:
            report.changed.append(type_)
        changes = breaking_changes(snap, schema)
        if changes:
            report.breaking[type_] = changes
    return report


def _signature(node: Schema) -> tuple[str, ...]:
    """What kind of value a (resolved, single-variant) schema node accepts."""
    if "const" in node:
        return ("const", json.dumps(node["const"], sort_keys=True))
    kind = node.get("type")
    kind_s = ",".join(sorted(kind)) if isinstance(kind, list) else str(kind or "any")
    if "enum" in node:
        return ("enum", kind_s)
    return ("type", kind_s, str(node.get("format", "")))


def _describe(sig: tuple[str, ...]) -> str:
    return "/".join(s for s in sig if s)


class _Comparer:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self.seen: set[tuple[str, str]] = set()

    def compare(self, old: Schema, new: Schema, path: str) -> list[Change]:
        if "$ref" in old and "$ref" in new:
            pair = (str(old["$ref"]), str(new["$ref"]))
            if pair in self.seen:  # already compared (or being compared: recursive schema)
                return []
            self.seen.add(pair)
        old = _resolve(old, self.old_root)
        new = _resolve(new, self.new_root)
        changes = _constraints(old, new, path)
        old_vs = [(_resolve(v, self.old_root), o) for v, o in _variants(old)]
        new_vs = [(_resolve(v, self.new_root), o) for v, o in _variants(new)]
        if len(old_vs) == 1 and len(new_vs) == 1:
            (old_v, old_open), (new_v, new_open) = old_vs[0], new_vs[0]
            return changes + self._single(old_v, new_v, path, old_open and new_open)
        return changes + self._union(old_vs, new_vs, path)

    def _union(
        self, old_vs: list[tuple[Schema, bool]], new_vs: list[tuple[Schema, bool]], path: str
    ) -> list[Change]:
        # Object variants are matched by title where a side has several (`A | B | None`);
        # a lone one pairs with the lone one: a model's title is its class name, not wire data.
        objects = max(sum(v.get("type") == "object" for v, _ in vs) for vs in (old_vs, new_vs))

        def key(v: Schema) -> tuple[str, ...]:
            named = v.get("type") == "object" and objects > 1
            return (*_signature(v), str(v.get("title", "")) if named else "")

        new_by_key = {key(v): (v, o) for v, o in new_vs}
        old_keys = {key(v) for v, _ in old_vs}
        changes: list[Change] = []
        for v, old_open in old_vs:
            found = new_by_key.get(key(v))
            if found is None:
                changes.append(Change(path, "retyped", f"no longer accepts {_describe(key(v))}"))
                continue
            match, new_open = found
            if v.get("type") == "object":
                changes += self.compare(v, match, path)
            else:
                open_ = old_open and new_open
                changes += _constraints(v, match, path) + self._single(v, match, path, open_)
        for k in new_by_key:
            if k not in old_keys:
                # old readers (and their stored data) do not expect the new alternative
                changes.append(Change(path, "retyped", f"now also accepts {_describe(k)}"))
        return changes

    def _single(self, old: Schema, new: Schema, path: str, open_: bool) -> list[Change]:
        old_sig, new_sig = _signature(old), _signature(new)
        if old_sig != new_sig:
            kind: ChangeKind = "literal_changed" if "const" in old or "const" in new else "retyped"
            return [Change(path, kind, f"{_describe(old_sig)} -> {_describe(new_sig)}")]
        changes: list[Change] = []
        if "enum" in old:
            removed = [v for v in old["enum"] if v not in new.get("enum", [])]
            # an open enum still takes a value it stopped listing, as a str
            if removed and not open_:
                changes.append(Change(path, "enum_value_removed", f"removed {removed}"))
            added = [v for v in new.get("enum", []) if v not in old["enum"]]
            if added and not open_:
                # old consumers reject it: only an enum marked open may grow
                changes.append(Change(path, "enum_value_added", f"added {added} to a closed enum"))
        if old.get("type") == "object":
            changes += self._object(old, new, path)
        if old.get("type") == "array" and "items" in old and "items" in new:
            changes += self.compare(old["items"], new["items"], f"{path}[]")
        return changes

    def _object(self, old: Schema, new: Schema, path: str) -> list[Change]:
        changes: list[Change] = []
        old_props: Mapping[str, Schema] = old.get("properties", {})
        new_props: Mapping[str, Schema] = new.get("properties", {})
        old_req = set(old.get("required", []))
        new_req = set(new.get("required", []))
        for name, prop in old_props.items():
            sub = f"{path}.{name}"
            if name not in new_props:
                changes.append(Change(sub, "removed_field", "field removed"))
                continue
            changes += self.compare(prop, new_props[name], sub)
            if name in new_req and name not in old_req:
                changes.append(Change(sub, "now_required", "optional field became required"))
        for name in new_props.keys() - old_props.keys():
            if name in new_req:
                changes.append(Change(f"{path}.{name}", "new_required_field", "new field required"))
        old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
            changes += self.compare(old_extra, new_extra, f"{path}.*")
        return changes


_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


def _constraints(old: Schema, new: Schema, path: str) -> list[Change]:
    """Bounds and patterns that differ: narrower breaks a replay, wider an old consumer."""
    changes = []
    for key in (*_LOWER, *_UPPER, "pattern", "multipleOf"):
        if old.get(key) != new.get(key):
            detail = f"{key} {old.get(key, 'unset')} -> {new.get(key, 'unset')}"
            changes.append(Change(path, "constraint_changed", detail))
    return changes


def _variants(node: Schema, open_: bool = False) -> list[tuple[Schema, bool]]:
    """The alternatives a node accepts, each with whether it sits in an open enum."""
    open_ = open_ or bool(node.get(OPEN_ENUM))
    for k in ("anyOf", "oneOf"):
        if k in node:
            return [v for sub in node[k] for v in _variants(sub, open_)]
    return [(node, open_)]


def _resolve(node: Schema, root: Schema) -> Schema:
    seen: set[str] = set()
    while "$ref" in node:
        ref = str(node["$ref"])
        if ref in seen or not ref.startswith("#/"):
            raise ValueError(f"cannot resolve $ref {ref!r}")
        seen.add(ref)
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node
