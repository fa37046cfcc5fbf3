"""The rule deciding whether a new input schema breaks callers of the old one."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs published

from agentsuite_catalog.domain.compat import breaks
from agentsuite_kit.schemas import check_schema

NAMES = st.text(alphabet="abcdefgh", min_size=1, max_size=6)
SCALARS = st.sampled_from(["string", "integer", "number", "boolean", "null"])


def leaf() -> st.SearchStrategy[dict[str, Any]]:
    typed = SCALARS.map(lambda t: {"type": t})
    enumed = st.lists(st.integers(0, 9), min_size=1, max_size=4, unique=True).map(
        lambda values: {"type": "integer", "enum": values}
    )
    return st.one_of(typed, enumed, st.just({}))


def objects(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    def build(props: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
        required = data.draw(st.lists(st.sampled_from(sorted(props)), unique=True)) if props else []
        schema: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            schema["required"] = required
        return schema

    return st.builds(build, st.dictionaries(NAMES, children, max_size=4), st.data())


SCHEMAS = st.recursive(leaf(), objects, max_leaves=12)
OBJECTS = objects(SCHEMAS)


def object_nodes(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object schema in the tree (the places a property can be added)."""
    found, stack = [], [schema]
    while stack:
        node = stack.pop()
        if node.get("type") == "object":
            found.append(node)
            stack.extend(node.get("properties", {}).values())
    return found


@given(OBJECTS)
def test_a_schema_never_breaks_itself(schema: dict[str, Any]) -> None:
    check_schema(schema, "input_schema")
    assert breaks(schema, copy.deepcopy(schema)) == []


@given(OBJECTS, st.data())
def test_adding_only_optional_properties_is_never_breaking(
    schema: dict[str, Any], data: st.DataObject
) -> None:
    new = copy.deepcopy(schema)
    for node in data.draw(st.lists(st.sampled_from(object_nodes(new)), min_size=1, max_size=3)):
        name = data.draw(NAMES)
        if name not in node.get("properties", {}):
            node.setdefault("properties", {})[name] = data.draw(SCHEMAS)
    check_schema(new, "input_schema")
    assert breaks(schema, new) == []


@given(OBJECTS.filter(lambda s: bool(s["properties"])), st.data())
def test_removing_a_property_always_breaks(schema: dict[str, Any], data: st.DataObject) -> None:
    new = copy.deepcopy(schema)
    name = data.draw(st.sampled_from(sorted(new["properties"])))
    del new["properties"][name]
    if name in new.get("required", []):
        new["required"].remove(name)
        if not new["required"]:
            del new["required"]
    assert any(
        b.path == f"$.{name}" and b.reason == "property removed" for b in breaks(schema, new)
    )


@given(OBJECTS, NAMES)
def test_a_newly_required_property_always_breaks(schema: dict[str, Any], name: str) -> None:
    new = copy.deepcopy(schema)
    if name in new.get("required", []):
        return
    new["required"] = [*new.get("required", []), name]
    assert any("newly required" in b.reason for b in breaks(schema, new))


def test_type_and_enum_narrowing_breaks_and_widening_does_not() -> None:
    integer, number = {"type": "integer"}, {"type": "number"}
    assert breaks(integer, number) == []
    assert [b.reason for b in breaks(number, integer)] == [
        "type narrowed: number no longer accepted"
    ]
    assert breaks({"type": "string"}, {"type": ["string", "null"]}) == []
    assert breaks({"enum": [1, 2]}, {"enum": [1, 2, 3]}) == []
    assert "enum narrowed" in breaks({"enum": [1, 2]}, {"enum": [1]})[0].reason
    assert "an enum now restricts" in breaks({}, {"enum": [1]})[0].reason
    # JSON true is not 1, whatever Python's == says
    assert breaks({"enum": [True]}, {"enum": [1]}) != []


def test_any_other_validation_change_breaks_but_annotations_do_not() -> None:
    old: dict[str, Any] = {"type": "object", "properties": {"q": {"type": "string"}}}
    bounded = copy.deepcopy(old)
    bounded["properties"]["q"]["maxLength"] = 10
    assert [(b.path, b.reason.split(" ")[0]) for b in breaks(old, bounded)] == [
        ("$.q", "maxLength")
    ]
    closed = old | {"additionalProperties": False}
    assert breaks(old, closed) != []
    described = copy.deepcopy(old)
    described["properties"]["q"]["description"] = "the query"
    assert breaks(old, described | {"title": "Search"}) == []


def test_a_schema_deeper_than_the_edge_admits_is_compared() -> None:
    # the edge refuses JSON nested past 64 levels; 200 properties deep (400 levels) leaves
    # the comparison walk (iterative) and its leaf comparison (json.dumps) that much margin
    old: dict[str, Any] = {"type": "string"}
    new: dict[str, Any] = {"type": "integer"}
    for _ in range(200):
        old = {"type": "object", "properties": {"a": old}}
        new = {"type": "object", "properties": {"a": new}}
    found = breaks(old, new)
    assert len(found) == 1
    assert found[0].path.endswith(".a")


# --- soundness: "not breaking" means the new schema accepts what the old one described ------


def instances(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values `schema` (one of SCHEMAS) accepts, objects holding only declared properties:
    the input a caller of the old schema sends. Undeclared extras are left out on purpose:
    the rule lets a new version declare a property an old caller never described (adding an
    optional property is not breaking), so an extra the old schema left open is the one kind
    of input that rule does not promise to keep valid."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("type") == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {k: instances(v) for k, v in props.items() if k in required},
            optional={k: instances(v) for k, v in props.items() if k not in required},
        )
    scalars: dict[str, st.SearchStrategy[Any]] = {
        "string": st.text(max_size=5),
        "integer": st.integers(-5, 5),
        "number": st.one_of(st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False)),
        "boolean": st.booleans(),
        "null": st.none(),
    }
    declared = schema.get("type")
    if declared is None:
        return st.one_of(*scalars.values(), st.lists(st.integers(), max_size=2))
    return scalars[declared]


def mutated(schema: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """`schema` with a few edits of the kinds the rule judges: properties added (optional or
    required) or removed, a property required or not, a type or an enum changed, a
    subschema replaced."""
    new = copy.deepcopy(schema)
    for _ in range(data.draw(st.integers(1, 3))):
        node = data.draw(st.sampled_from(object_nodes(new)))
        props = node.setdefault("properties", {})
        edit = data.draw(
            st.sampled_from(["add", "add_required", "remove", "require", "unrequire", "replace"])
        )
        name = data.draw(NAMES)
        if edit in {"add", "add_required"} and name not in props:
            props[name] = data.draw(SCHEMAS)
            if edit == "add_required":
                node["required"] = sorted({*node.get("required", ()), name})
        elif props and edit in {"remove", "require", "unrequire", "replace"}:
            name = data.draw(st.sampled_from(sorted(props)))
            required = set(node.get("required", ()))
            if edit == "remove":
                del props[name]
                required.discard(name)
            elif edit == "require":
                required.add(name)
            elif edit == "unrequire":
                required.discard(name)
            else:
                props[name] = data.draw(SCHEMAS)
            if required:
                node["required"] = sorted(required)
            else:
                node.pop("required", None)
    return new


@settings(max_examples=300, deadline=None)
@given(OBJECTS, st.data())
def test_a_change_judged_compatible_accepts_every_input_the_old_schema_described(
    old: dict[str, Any], data: st.DataObject
) -> None:
    new = mutated(old, data) if data.draw(st.booleans()) else data.draw(OBJECTS)
    check_schema(new, "input_schema")
    if breaks(old, new):
        return
    validator = Draft202012Validator(new)
    for _ in range(5):
        instance = data.draw(instances(old))
        assert Draft202012Validator(old).is_valid(instance)  # the generator is faithful
        assert validator.is_valid(instance), (old, new, instance)
