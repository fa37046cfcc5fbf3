"""The catalogue built from rows: built-ins, overrides, price lists."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from agentsuite_llm_gateway.catalogs import BUILTIN_MODELS, build, builtin_id
from agentsuite_llm_gateway.domain.catalog import Alias, ProviderKind, Target

T = uuid.uuid4()
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def provider(name: str, kind: str = "openai", **kw: Any) -> dict[str, Any]:
    return {
        "provider_id": uuid.uuid4(),
        "name": name,
        "kind": kind,
        "base_url": None if kind == "local" else "https://api.example.com/v1",
        "enabled": True,
        "options": {},
        "credential": None,
        "credential_key_id": None,
        **kw,
    }


def model(p: dict[str, Any], name: str, **kw: Any) -> dict[str, Any]:
    return {
        "model_id": uuid.uuid4(),
        "provider_id": p["provider_id"],
        "name": name,
        "upstream": name,
        "context_window": 8000,
        "max_output": None,
        "capabilities": ["tools"],
        "tier": "balanced",
        "enabled": True,
        **kw,
    }


def price(m: dict[str, Any], when: datetime, inp: int, out: int) -> dict[str, Any]:
    return {
        "model_id": m["model_id"],
        "effective_from": when,
        "input_micros": inp,
        "output_micros": out,
        "cached_input_micros": None,
        "reasoning_micros": None,
        "currency": "USD",
    }


def test_an_empty_tenant_has_the_builtins() -> None:
    catalog = build(T, [], [], [])
    local = catalog.providers["local"]
    assert local.kind is ProviderKind.LOCAL
    assert local.base_url is None
    assert set(BUILTIN_MODELS) <= set(catalog.models)
    echo = catalog.models["local-echo"]
    assert echo.upstream == "echo"
    assert echo.context_window == 128_000
    assert {"tools", "json", "embeddings"} <= echo.capabilities
    assert echo.price_at(NOW) is None  # free
    assert echo.model_id == builtin_id(T, "local-echo")  # stable across loads
    for alias in ("default", "fast", "smart"):
        assert catalog.aliases[alias].targets == (Target("local-echo"),)


def test_tenant_definitions_win_over_builtins() -> None:
    mine = provider("local", "local", options={"script": "x"})
    other = provider("openai")
    gpt = model(other, "gpt-4o-mini")
    echo = model(other, "local-echo")
    catalog = build(
        T, [mine, other], [gpt, echo], [], aliases=[Alias("fast", (Target("gpt-4o-mini"),))]
    )
    assert catalog.providers["local"].options == {"script": "x"}
    assert catalog.models["local-json"].provider.provider_id == mine["provider_id"]
    assert catalog.models["local-echo"].provider.name == "openai"
    assert catalog.aliases["fast"].targets == (Target("gpt-4o-mini"),)
    assert catalog.aliases["smart"].targets == (Target("local-echo"),)


def test_a_local_named_provider_of_another_kind_gets_no_builtin_models() -> None:
    catalog = build(T, [provider("local", "openai")], [], [])
    assert not set(BUILTIN_MODELS) & set(catalog.models)


def test_price_lists_are_sorted_and_versioned() -> None:
    p = provider("openai")
    m = model(p, "gpt")
    later = price(m, NOW + timedelta(days=10), 3, 4)
    earlier = price(m, NOW, 1, 2)
    catalog = build(T, [p], [m], [later, earlier])
    gpt = catalog.models["gpt"]
    assert [x.input for x in gpt.prices] == [1, 3]
    assert gpt.price_at(NOW - timedelta(seconds=1)) is None
    assert gpt.price_at(NOW + timedelta(days=1)).input == 1  # type: ignore[union-attr]
    assert gpt.price_at(NOW + timedelta(days=11)).output == 4  # type: ignore[union-attr]
    assert gpt.capabilities == frozenset({"tools"})
