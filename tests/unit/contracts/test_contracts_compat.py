"""Schema compatibility: a table of cases checked against what consumers accept, committed
snapshots, committed export, the CLI."""

from __future__ import annotations

import functools
import json
import operator
from dataclasses import dataclass
from dataclasses import field as dc_field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

from agentsuite_contracts import PAYLOADS, Contract, Envelope, Event, Open, type_of, uuid7
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


# --- one table of cases: the compat verdict and what consumers accept -------------------------


class Inner(Contract):
    n: int = Field(description="n")
    s: str = Field(description="s")


class InnerFewer(Contract):
    n: int = Field(description="n")


class Renamed(Contract):
    n: int = Field(description="n")
    s: str = Field(description="s")


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class ColorFewer(StrEnum):
    RED = "red"


class ColorMore(StrEnum):
    RED = "red"
    BLUE = "blue"
    GREEN = "green"


class V1(Event):
    type: Literal["x.y.z"] = Field(default="x.y.z", description="type")
    a: int = Field(description="a")
    b: str | None = Field(default=None, description="b")
    tags: list[str] = Field(default_factory=list, description="tags")
    inner: Inner = Field(description="inner")
    color: Color = Field(description="color")
    shade: Open[Color] = Field(description="an open enum")
    tint: Open[Color] | None = Field(default=None, description="an optional open enum")


OpenColor: TypeAlias = Open[Color]
OpenMore: TypeAlias = Open[ColorMore]
OpenMoreOrNone: TypeAlias = Open[ColorMore] | None
OpenFewer: TypeAlias = Open[ColorFewer]

BASE: dict[str, Any] = {
    "type": "x.y.z",
    "a": 1,
    "inner": {"n": 1, "s": "s"},
    "color": "red",
    "shade": "red",
}


def variant(base: type[Event] = V1, **changes: Any) -> type[Event]:
    """`base` with fields replaced (`(annotation, FieldInfo)`) or removed (`None`)."""
    fields: dict[str, Any] = {
        name: (f.annotation, f) for name, f in base.model_fields.items() if name not in changes
    }
    fields.update({k: v for k, v in changes.items() if v is not None})
    model: type[Event] = create_model("V1", __base__=Event, **fields)
    return model


def sample(**changes: Any) -> dict[str, Any]:
    """BASE with keys replaced, or removed (`None`)."""
    data = {**BASE, **changes}
    return {k: v for k, v in data.items() if v is not None}


@dataclass(frozen=True)
class Case:
    """A schema change: its compat verdict, and payloads that show what consumers do.

    `sent` is what a producer on the new schema may send (an old consumer must apply it);
    `stored` is what the old schema let through (a new consumer replaying it must apply it).
    `semantic`: breaking although both decode, because a field consumers read is gone.
    """

    new: type[Event]
    verdict: tuple[str, ...]
    sent: dict[str, Any] = dc_field(default_factory=sample)
    stored: dict[str, Any] = dc_field(default_factory=sample)
    old: type[Event] = V1
    semantic: bool = False


def _f(annotation: Any, **kw: Any) -> tuple[Any, Any]:
    return annotation, Field(description="d", **kw)


A_FROM_1 = variant(a=_f(int, ge=1))
CASES: dict[str, Case] = {
    "identical": Case(variant(), ()),
    "description changed": Case(variant(a=(int, Field(description="another text"))), ()),
    "optional field added": Case(variant(c=_f(int | None, default=None)), (), sent=sample(c=5)),
    "optional list added": Case(
        variant(d=_f(list[int], default_factory=list)), (), sent=sample(d=[1])
    ),
    "required field added": Case(variant(c=_f(int)), ("new_required_field",), sent=sample(c=5)),
    "optional field removed": Case(
        variant(b=None), ("removed_field",), stored=sample(b="x"), semantic=True
    ),
    "nested required field removed": Case(
        variant(inner=_f(InnerFewer)), ("removed_field",), sent=sample(inner={"n": 1})
    ),
    "nested model renamed": Case(variant(inner=_f(Renamed)), ()),
    "nullable nested model renamed": Case(
        variant(extra=_f(Renamed | None, default=None)),
        (),
        old=variant(extra=_f(Inner | None, default=None)),
        stored=sample(extra={"n": 1, "s": "s"}),
    ),
    "retyped": Case(variant(a=_f(str)), ("retyped",), sent=sample(a="x")),
    "list item retyped": Case(
        variant(tags=_f(list[int], default_factory=list)), ("retyped",), sent=sample(tags=[1])
    ),
    "int to float": Case(variant(a=_f(float)), ("retyped",), sent=sample(a=1.5)),
    "now nullable": Case(
        variant(a=_f(int | None, default=None)), ("retyped",), sent=sample(a=None)
    ),
    "no longer nullable": Case(
        variant(b=_f(str, default="")), ("retyped",), stored=sample(b=None) | {"b": None}
    ),
    "optional became required": Case(
        variant(b=_f(str | None)), ("now_required",), sent=sample(b="x")
    ),
    "closed enum grew": Case(
        variant(color=_f(ColorMore)), ("enum_value_added",), sent=sample(color="green")
    ),
    "closed enum shrank": Case(
        variant(color=_f(ColorFewer)), ("enum_value_removed",), stored=sample(color="blue")
    ),
    "open enum grew": Case(variant(shade=_f(OpenMore)), (), sent=sample(shade="green")),
    "optional open enum grew": Case(
        variant(tint=_f(OpenMoreOrNone, default=None)), (), sent=sample(tint="green")
    ),
    "open enum shrank": Case(variant(shade=_f(OpenFewer)), (), stored=sample(shade="blue")),
    "closed enum opened": Case(
        variant(color=_f(OpenColor)), ("retyped",), sent=sample(color="purple")
    ),
    "open enum closed": Case(variant(shade=_f(Color)), ("retyped",), stored=sample(shade="purple")),
    "literal changed": Case(
        variant(type=(Literal["x.y.w"], Field(default="x.y.w", description="type"))),
        ("literal_changed",),
        sent=sample(type="x.y.w"),
    ),
    "upper bound added": Case(
        variant(a=_f(int, le=10)), ("constraint_changed",), stored=sample(a=100)
    ),
    "lower bound loosened": Case(
        variant(A_FROM_1, a=_f(int, ge=0)), ("constraint_changed",), sent=sample(a=0), old=A_FROM_1
    ),
    "length capped": Case(
        variant(b=_f(str | None, default=None, max_length=3)),
        ("constraint_changed",),
        stored=sample(b="longer"),
    ),
    "list length floor": Case(
        variant(tags=_f(list[str], default_factory=list, min_length=1)),
        ("constraint_changed",),
        sent=sample(tags=["t"]),
        stored=sample(tags=[]),
    ),
}


def outcome(models: tuple[type[Event], ...], payload: dict[str, Any]) -> str:
    """What a consumer of a topic carrying `models` does with `payload`, decoded as it does:
    an unknown type is skipped by type; anything that fails validation is not applied."""
    if payload["type"] not in {type_of(m) for m in models}:
        return "skipped"
    union: Any = functools.reduce(operator.or_, models)
    adapter: TypeAdapter[Envelope[Any]] = TypeAdapter(
        Envelope[Annotated[union, Field(discriminator="type")]]
    )
    raw = json.dumps(
        {
            "producer": "x",
            "subject": {"type": "y", "id": "1"},
            "correlation_id": str(uuid7()),
            "payload": payload,
        }
    )
    try:
        adapter.validate_json(raw, extra="ignore")
    except ValidationError:
        return "rejected"
    return "applied"


@pytest.mark.parametrize("name", CASES)
def test_compat_verdict(name: str) -> None:
    case = CASES[name]
    assert tuple(kinds(case.old, case.new)) == case.verdict


@pytest.mark.parametrize("name", CASES)
def test_compat_verdict_matches_what_consumers_accept(name: str) -> None:
    case = CASES[name]
    # the samples are legal for the schema that produced them
    case.new.model_validate(case.sent)
    case.old.model_validate(case.stored)
    old_consumer = outcome((case.old,), case.sent)
    replay = outcome((case.new,), case.stored)
    accepted = old_consumer in {"applied", "skipped"} and replay == "applied"
    verdict = kinds(case.old, case.new)
    if case.semantic:
        assert accepted
        assert verdict
    else:
        assert accepted == (not verdict), (verdict, old_consumer, replay)


class W(Event):
    type: Literal["x.y.w"] = Field(default="x.y.w", description="type")
    a: int = Field(description="a")


def test_new_type_on_topic_is_compatible_and_skipped_by_old_consumers() -> None:
    report = compare_all(
        {"x.y.z": V1.model_json_schema()},
        {"x.y.z": V1.model_json_schema(), "x.y.w": W.model_json_schema()},
    )
    assert report.breaking == {}
    assert report.missing_snapshots == ["x.y.w"]  # snapshot it, but nothing breaks
    assert outcome((V1,), {"type": "x.y.w", "a": 1}) == "skipped"
    assert outcome((V1, W), {"type": "x.y.w", "a": 1}) == "applied"


def test_open_enum_keeps_unknown_value_as_str() -> None:
    got = V1.model_validate(sample(shade="purple", tint="blue"))
    assert got.shade == "purple"
    assert type(got.shade) is str
    assert got.tint is Color.BLUE
    schema = V1.model_json_schema()["properties"]["shade"]
    assert schema["x-open-enum"] is True
    assert {"$ref": "#/$defs/Color"} in schema["anyOf"]


def test_removing_nested_field_names_the_path() -> None:
    changes = breaking_changes(
        V1.model_json_schema(), variant(inner=_f(InnerFewer)).model_json_schema()
    )
    assert [(c.path, c.kind) for c in changes] == [("$.inner.s", "removed_field")]


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


def test_asyncapi_shows_kinds_and_no_shared_dlq() -> None:
    doc = asyncapi()
    assert doc["channels"]["llm.requests.v1"]["x-kind"] == "commands"
    assert doc["channels"]["planning.schedules.v1"]["x-kind"] == "events"
    assert doc["components"]["messages"]["llm.completion.requested"]["x-kind"] == "commands"
    assert doc["components"]["messages"]["planning.schedule.fired"]["x-kind"] == "events"
    # dead letters are per consumer group (`<group>.dlq`), not per topic
    assert not [c for c in doc["channels"] if c.endswith(".dlq")]


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
