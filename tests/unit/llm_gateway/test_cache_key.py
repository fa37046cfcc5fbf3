"""The cache key: equal for requests that must get the same answer, different otherwise."""

from __future__ import annotations

from typing import Any

from agentsuite_llm_gateway.cache import ResponseCache, normalized

BASE: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "hi", "name": None}],
    "temperature": 0.2,
}


def key(body: dict[str, Any], model: str = "gpt-4o-mini", prompt: str | None = None) -> bytes:
    return ResponseCache.key(model, prompt, body)


def test_key_is_a_sha256_digest() -> None:
    assert len(key(BASE)) == 32


def test_delivery_and_attribution_fields_do_not_change_the_key() -> None:
    noisy = {
        **BASE,
        "stream": True,
        "stream_options": {"include_usage": True},
        "user": "u-1",
        "metadata": {"x": "y"},
        "agentsuite": {"run": "r"},
        "cache": True,
    }
    assert key(noisy) == key(BASE)


def test_member_order_nulls_and_number_spelling_do_not_change_the_key() -> None:
    reordered = {
        "temperature": 0.2,
        "messages": [{"content": "hi", "role": "user"}],
        "model": "gpt-4o-mini",
        "seed": None,
        "n": 1,
        "tools": [],
    }
    assert key(reordered) == key(BASE)
    assert key({**BASE, "max_tokens": 10.0}) == key({**BASE, "max_tokens": 10})


def test_what_changes_the_answer_changes_the_key() -> None:
    base = key(BASE)
    assert key({**BASE, "temperature": 1}) != base
    assert key({**BASE, "messages": [{"role": "user", "content": "hi!"}]}) != base
    assert key({**BASE, "n": 2}) != base
    assert key({**BASE, "tools": [{"type": "function", "function": {"name": "f"}}]}) != base
    assert key(BASE, model="gpt-4o") != base
    assert key(BASE, prompt="3") != key(BASE, prompt="4")
    assert key(BASE, prompt="3") != base


def test_temperature_is_not_assumed_to_default_to_one() -> None:
    # a vLLM or Ollama model defaults to its own generation config, not to 1
    assert key({**BASE, "temperature": 1}) != key(
        {k: v for k, v in BASE.items() if k != "temperature"}
    )


def test_tool_schemas_keep_their_nulls() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"default": None}}}
    assert normalized({"tools": [tool]})["tools"][0]["function"]["parameters"] == {"default": None}
