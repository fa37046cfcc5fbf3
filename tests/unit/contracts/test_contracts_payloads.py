"""Every payload class follows the house rules: frozen, a `type` literal, described fields."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any, Literal, get_args, get_origin

import pytest

from agentsuite_contracts import PAYLOADS, Payload, catalog, discovery, execution, identity, llm
from agentsuite_contracts import planning as planning_mod
from agentsuite_contracts.export import payload_schema

pytestmark = pytest.mark.unit

MODULES: dict[str, ModuleType] = {
    "identity": identity,
    "catalog": catalog,
    "discovery": discovery,
    "planning": planning_mod,
    "execution": execution,
    "llm": llm,
}
SECRET_NAMES = re.compile(r"^(password|secret|token|api_key|key_hash|credentials?|private_key)$")


def declared(module: ModuleType) -> list[type[Payload]]:
    return [
        c
        for _, c in inspect.getmembers(module, inspect.isclass)
        if issubclass(c, Payload) and c is not Payload and c.__module__ == module.__name__
    ]


ALL = [(prefix, c) for prefix, m in MODULES.items() for c in declared(m)]
IDS = [c.__name__ for _, c in ALL]


def test_every_declared_payload_is_registered() -> None:
    assert {c for _, c in ALL} == set(PAYLOADS)


@pytest.mark.parametrize(("prefix", "cls"), ALL, ids=IDS)
def test_type_literal(prefix: str, cls: type[Payload]) -> None:
    field = cls.model_fields["type"]
    assert get_origin(field.annotation) is Literal
    (value,) = get_args(field.annotation)
    assert field.default == value
    assert re.fullmatch(rf"{prefix}\.[a-z_]+\.[a-z_]+", value), value
    assert cls.model_json_schema()["properties"]["type"]["const"] == value


@pytest.mark.parametrize(("prefix", "cls"), ALL, ids=IDS)
def test_frozen_strict_documented(prefix: str, cls: type[Payload]) -> None:
    assert cls.model_config.get("frozen") is True
    assert cls.model_config.get("extra") == "forbid"
    assert (cls.__doc__ or "").strip(), f"{cls.__name__} needs a docstring"


def properties(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(owner title, field name, field schema) for every property, nested models included."""
    for owner in [schema, *schema.get("$defs", {}).values()]:
        for name, prop in owner.get("properties", {}).items():
            yield owner.get("title", "?"), name, prop


@pytest.mark.parametrize(("prefix", "cls"), ALL, ids=IDS)
def test_every_field_described(prefix: str, cls: type[Payload]) -> None:
    missing = [
        f"{o}.{n}" for o, n, p in properties(payload_schema(cls)) if not p.get("description")
    ]
    assert not missing, f"fields without description: {missing}"


@pytest.mark.parametrize(("prefix", "cls"), ALL, ids=IDS)
def test_no_secret_fields(prefix: str, cls: type[Payload]) -> None:
    names = [f"{o}.{n}" for o, n, _ in properties(payload_schema(cls)) if SECRET_NAMES.match(n)]
    assert not names, f"events must not carry secrets: {names}"
