"""Schema compatibility: synthetic cases, committed snapshots, committed export, the CLI."""

from __future__ import annotations

import functools
import json
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, create_model

from agentsuite_contracts import PAYLOADS, type_of
from agentsuite_contracts.compat import breaking_changes, compare_all
from agentsuite_contracts.export import (
    SCHEMAS_DIR,
    SNAPSHOTS_DIR,
    asyncapi,
    main,
    payload_schemas,
    read_snapshots,
    render,
)

pytestmark = pytest.mark.unit

TYPES = sorted(type_of(c) for c in PAYLOADS)


@functools.cache
def current_schemas() -> dict[str, Any]:
    return payload_schemas()


def kinds(old: type[BaseModel], new: type[BaseModel]) -> list[str]:
    return [c.kind for c in breaking_changes(old.model_json_schema(), new.model_json_schema())]


# --- synthetic cases -------------------------------------------------------------------------


class Inner(BaseModel):
    n: int = Field(description="n")
    s: str = Field(description="s")


class InnerFewer(BaseModel):
    n: int = Field(description="n")


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class ColorFewer(StrEnum):
    RED = "red"


class ColorMore(StrEnum):
    RED = "red"
    BLUE = "blue"
    GREEN = "green"


class V1(BaseModel):
    type: Literal["x.y.z"] = "x.y.z"
    a: int = Field(description="a")
    b: str | None = Field(default=None, description="b")
    tags: list[str] = Field(default_factory=list, description="tags")
    inner: Inner = Field(description="inner")
    color: Color = Field(description="color")


def variant(**changes: Any) -> type[BaseModel]:
    """V1 with fields replaced (`(annotation, FieldInfo)`) or removed (`None`)."""
    fields: dict[str, Any] = {
        name: (f.annotation, f) for name, f in V1.model_fields.items() if name not in changes
    }
    fields.update({k: v for k, v in changes.items() if v is not None})
    model: type[BaseModel] = create_model("V1", **fields)
    return model


def test_identical_passes() -> None:
    assert kinds(V1, variant()) == []


def test_description_change_passes() -> None:
    assert kinds(V1, variant(a=(int, Field(description="another text")))) == []


def test_adding_optional_field_passes() -> None:
    assert kinds(V1, variant(c=(int | None, Field(default=None, description="c")))) == []
    assert kinds(V1, variant(d=(list[int], Field(default_factory=list, description="d")))) == []


def test_adding_enum_value_passes() -> None:
    assert kinds(V1, variant(color=(ColorMore, Field(description="color")))) == []


def test_removing_field_fails() -> None:
    assert kinds(V1, variant(b=None)) == ["removed_field"]


def test_removing_nested_field_fails() -> None:
    changes = breaking_changes(
        V1.model_json_schema(),
        variant(inner=(InnerFewer, Field(description="inner"))).model_json_schema(),
    )
    assert [(c.path, c.kind) for c in changes] == [("$.inner.s", "removed_field")]


def test_retyping_fails() -> None:
    assert kinds(V1, variant(a=(str, Field(description="a")))) == ["retyped"]
    assert kinds(
        V1, variant(tags=(list[int], Field(default_factory=list, description="tags")))
    ) == ["retyped"]
    assert kinds(V1, variant(a=(float, Field(description="a")))) == ["retyped"]


def test_nullability_changes_fail() -> None:
    assert "retyped" in kinds(V1, variant(a=(int | None, Field(default=None, description="a"))))
    assert "retyped" in kinds(V1, variant(b=(str, Field(default="", description="b"))))


def test_optional_to_required_fails() -> None:
    assert kinds(V1, variant(b=(str | None, Field(description="b")))) == ["now_required"]


def test_adding_required_field_fails() -> None:
    assert kinds(V1, variant(c=(int, Field(description="c")))) == ["new_required_field"]


def test_removing_enum_value_fails() -> None:
    assert kinds(V1, variant(color=(ColorFewer, Field(description="color")))) == [
        "enum_value_removed"
    ]


def test_literal_change_fails() -> None:
    assert kinds(V1, variant(type=(Literal["x.y.w"], Field(default="x.y.w")))) == [
        "literal_changed"
    ]


def test_removed_payload_type_fails() -> None:
    schema = V1.model_json_schema()
    report = compare_all({"x.y.z": schema, "x.y.gone": schema}, {"x.y.z": schema})
    assert not report.ok
    assert [c.kind for c in report.breaking["x.y.gone"]] == ["payload_removed"]


def test_missing_snapshot_reported() -> None:
    report = compare_all({}, {"x.y.z": V1.model_json_schema()})
    assert not report.ok
    assert report.missing_snapshots == ["x.y.z"]


# --- the committed snapshots and generated files ---------------------------------------------


@pytest.mark.parametrize("type_", TYPES)
def test_schema_compatible_with_snapshot(type_: str) -> None:
    path = SNAPSHOTS_DIR / f"{type_}.json"
    assert path.is_file(), f"no snapshot for {type_}: run `agentsuite-contracts snapshot`"
    snapshot = json.loads(path.read_text(encoding="utf-8"))
    current = current_schemas()[type_]
    changes = breaking_changes(snapshot, current)
    assert not changes, "\n".join(map(str, changes))


def test_no_snapshot_for_removed_type() -> None:
    assert set(read_snapshots(SNAPSHOTS_DIR)) <= set(TYPES)


def test_exported_schemas_current() -> None:
    stale = [
        rel
        for rel, text in render().items()
        if not (SCHEMAS_DIR / rel).is_file()
        or (SCHEMAS_DIR / rel).read_text(encoding="utf-8") != text
    ]
    assert not stale, f"run `agentsuite-contracts export`; stale: {stale[:5]}"


def test_export_deterministic() -> None:
    assert render() == render()


def test_asyncapi_refs_resolve() -> None:
    doc = asyncapi()
    assert doc["asyncapi"] == "3.0.0"
    assert doc["channels"]["planning.plans.v1"]["bindings"]["kafka"]["partitions"] > 0

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return own + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in set(refs(doc)):
        target: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            assert part in target, f"dangling $ref {ref}"
            target = target[part]


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_snapshot_then_check(tmp_path: Path) -> None:
    assert main(["check", "--dir", str(tmp_path)]) == 1  # nothing snapshotted yet
    assert main(["snapshot", "--dir", str(tmp_path)]) == 0
    assert main(["check", "--dir", str(tmp_path)]) == 0


def test_cli_check_fails_on_breaking_change(tmp_path: Path) -> None:
    assert main(["snapshot", "--dir", str(tmp_path)]) == 0
    path = tmp_path / "planning.plan.archived.json"
    old = json.loads(path.read_text())
    # pretend the committed schema had a field the current one lacks
    old["properties"]["dropped"] = {"description": "gone", "type": "string"}
    path.write_text(json.dumps(old))
    assert main(["check", "--dir", str(tmp_path)]) == 1
    assert main(["snapshot", "--dir", str(tmp_path)]) == 1  # refuses
    assert "dropped" in path.read_text()
    assert main(["snapshot", "--dir", str(tmp_path), "--allow-breaking"]) == 0
    assert main(["check", "--dir", str(tmp_path)]) == 0


def test_cli_export(tmp_path: Path) -> None:
    (tmp_path / "payloads").mkdir()
    (tmp_path / "payloads" / "old.type.gone.json").write_text("{}")
    assert main(["export", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "asyncapi.json").read_text())["asyncapi"] == "3.0.0"
    assert (tmp_path / "envelope.json").is_file()
    assert (tmp_path / "payloads" / "planning.plan.approved.json").is_file()
    assert not (tmp_path / "payloads" / "old.type.gone.json").exists()
