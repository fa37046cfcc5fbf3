"""Every payload class follows the house rules: frozen, a `type` literal, described fields,
money as `Money`, free text and personal data marked, growing enums open."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from types import ModuleType
from typing import Any, Literal, get_args, get_origin

import pytest
from pydantic import ValidationError

from agentsuite_contracts import (
    PAYLOADS,
    Money,
    Payload,
    catalog,
    discovery,
    execution,
    identity,
    llm,
    marked_paths,
)
from agentsuite_contracts import planning as planning_mod
from agentsuite_contracts.export import payload_schema
from agentsuite_contracts.marks import OPEN_ENUM, PERSONAL, SENSITIVE

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


def types(node: Any) -> set[str]:
    """Every JSON type a property schema names, through unions and items."""
    if isinstance(node, dict):
        own = {node["type"]} if isinstance(node.get("type"), str) else set()
        return own.union(*(types(v) for k, v in node.items() if k in ("anyOf", "items")))
    if isinstance(node, list):
        return set().union(*(types(v) for v in node))
    return set()


# number fields that are not money (money is `Money`: integer micro-units)
NOT_MONEY = {
    "temperature",
    "confidence",
    "required_confidence",
    "completeness",
    "backoff",
    "jitter",
    "score",
}


@pytest.mark.parametrize(("prefix", "cls"), ALL, ids=IDS)
def test_no_float_money(prefix: str, cls: type[Payload]) -> None:
    floats = [
        f"{o}.{n}"
        for o, n, p in properties(payload_schema(cls))
        if n not in NOT_MONEY and "number" in types(p)
    ]
    assert not floats, f"money must be Money, not float: {floats}"


def test_money_is_exact_and_checked() -> None:
    assert Money.of("1.25").amount_micros == 1_250_000
    assert Money.of("0.1") + Money.of("0.2") == Money.of("0.3")
    assert Money(amount_micros=1).amount == Decimal("0.000001")
    with pytest.raises(ValueError, match=r"amount: 0\.0000001 has more than 6 decimal places"):
        Money.of("0.0000001")
    with pytest.raises(ValueError, match="currency: cannot add EUR to USD"):
        Money.of(1) + Money.of(1, "EUR")
    with pytest.raises(ValidationError, match="currency"):
        Money(amount_micros=1, currency="usd")
    with pytest.raises(ValidationError, match="amount_micros"):
        Money(amount_micros=-1)


FREE_TEXT = re.compile(r"(^|_)(prompt|content|email|message|messages|text|comment|instructions)$")


@pytest.mark.parametrize(("prefix", "cls"), ALL, ids=IDS)
def test_free_text_fields_marked(prefix: str, cls: type[Payload]) -> None:
    unmarked = [
        f"{o}.{n}"
        for o, n, p in properties(payload_schema(cls))
        if FREE_TEXT.search(n) and p.get("type") not in ("integer", "boolean")
        if not (p.get(SENSITIVE) or p.get(PERSONAL))
    ]
    assert not unmarked, f"mark these Sensitive[...] or Personal[...]: {unmarked}"


def test_marked_paths_of_payloads() -> None:
    def paths(cls: type[Payload]) -> dict[str, list[str]]:
        return marked_paths(payload_schema(cls))

    assert paths(identity.UserCreated) == {
        SENSITIVE: [],
        PERSONAL: ["display_name", "email"],
    }
    assert paths(discovery.TurnRecorded)[SENSITIVE] == ["content"]
    assert paths(llm.LlmRequest)[SENSITIVE] == ["messages", "prompt"]
    assert paths(llm.LlmResponse)[SENSITIVE] == ["error.message", "message"]
    assert paths(execution.StepFailed)[SENSITIVE] == ["error.details", "error.message"]
    approved = paths(planning_mod.PlanApproved)[SENSITIVE]
    assert {"comment", "plan.goal", "plan.phases[].steps[].llm.prompt"} <= set(approved)
    assert paths(identity.TenantCreated) == {SENSITIVE: [], PERSONAL: []}


def test_marks_in_exported_schema() -> None:
    schema = payload_schema(identity.InvitationCreated)
    assert schema["properties"]["email"][PERSONAL] is True
    chat = payload_schema(llm.LlmResponse)["$defs"]["ChatMessage"]["properties"]
    assert chat["content"][SENSITIVE] is True
    assert chat["name"][PERSONAL] is True


# enums that grow within v1: consumers keep values they do not know (as str)
OPEN_FIELDS = {
    ("PlanStep", "kind"),
    ("ExecutionStarted", "trigger"),
    ("StepStarted", "kind"),
    ("BudgetWarning", "limit"),
    ("BudgetExceeded", "limit"),
    ("LlmResponse", "finish_reason"),
    ("LlmError", "code"),
    ("ToolBinding", "kind"),
    ("ToolAuth", "scheme"),
    ("ToolSpec", "side_effect"),
}


def test_open_enum_fields() -> None:
    found = {
        (o, n)
        for cls in PAYLOADS
        for o, n, p in properties(payload_schema(cls))
        if OPEN_ENUM in json.dumps(p)
    }
    assert found == OPEN_FIELDS
