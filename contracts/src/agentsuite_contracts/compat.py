"""Backward-compatibility check between two JSON Schemas of the same payload.

Within a topic version a schema may only grow optional fields (and enum values). Anything
else breaks a consumer or a replay of stored messages and needs a new topic version.
Pure functions: no I/O, so tests can feed synthetic schemas.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Schema = Mapping[str, Any]

ChangeKind = Literal[
    "removed_field",
    "retyped",
    "now_required",
    "new_required_field",
    "enum_value_removed",
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
        old_vs = [_resolve(v, self.old_root) for v in _variants(old)]
        new_vs = [_resolve(v, self.new_root) for v in _variants(new)]
        if len(old_vs) == 1 and len(new_vs) == 1:
            return self._single(old_vs[0], new_vs[0], path)
        return self._union(old_vs, new_vs, path)

    def _union(self, old_vs: list[Schema], new_vs: list[Schema], path: str) -> list[Change]:
        # Variants are matched by signature plus title, so `A | None` pairs A with A.
        def key(v: Schema) -> tuple[str, ...]:
            return (*_signature(v), str(v.get("title", "")) if v.get("type") == "object" else "")

        new_by_key = {key(v): v for v in new_vs}
        old_keys = {key(v) for v in old_vs}
        changes: list[Change] = []
        for v in old_vs:
            match = new_by_key.get(key(v))
            if match is None:
                changes.append(Change(path, "retyped", f"no longer accepts {_describe(key(v))}"))
            else:
                changes += self.compare(v, match, path)
        for k in new_by_key:
            if k not in old_keys:
                # old readers (and their stored data) do not expect the new alternative
                changes.append(Change(path, "retyped", f"now also accepts {_describe(k)}"))
        return changes

    def _single(self, old: Schema, new: Schema, path: str) -> list[Change]:
        old_sig, new_sig = _signature(old), _signature(new)
        if old_sig != new_sig:
            kind: ChangeKind = "literal_changed" if "const" in old or "const" in new else "retyped"
            return [Change(path, kind, f"{_describe(old_sig)} -> {_describe(new_sig)}")]
        changes: list[Change] = []
        if "enum" in old:
            removed = [v for v in old["enum"] if v not in new.get("enum", [])]
            if removed:
                changes.append(Change(path, "enum_value_removed", f"removed {removed}"))
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


def _variants(node: Schema) -> list[Schema]:
    for k in ("anyOf", "oneOf"):
        if k in node:
            return [v for sub in node[k] for v in _variants(sub)]
    return [node]


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
