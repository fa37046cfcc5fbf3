"""The input bound both llm-gateway and execution reserve: a known family's tokenizer
(offline, bundled vocabularies), else a token per byte; never below the real count."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentsuite_kit.tokens import (
    PER_MESSAGE,
    chat_input_bound,
    counter,
    encoding_of,
    prompt_upper_bound,
)


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("openai/gpt-4.1", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("gpt-4oops", None),  # not a family prefix followed by a separator
        ("o30", None),
        ("claude-3-5-sonnet", None),
        ("stub-model", None),
        (None, None),
    ],
)
def test_known_families_name_their_vocabulary(model: str | None, encoding: str | None) -> None:
    assert encoding_of(model) == encoding


def test_the_tokenizer_works_offline_and_counts_like_tiktoken() -> None:
    # o200k: "hello" " world" -> 2; cl100k: the same two tokens
    assert counter("gpt-4o")("hello world") == 2
    assert counter("gpt-4")("hello world") == 2
    assert counter("unknown")("héllo") == len("héllo".encode())


def test_a_known_family_is_bounded_tighter_than_bytes() -> None:
    messages = [{"role": "user", "content": "the quick brown fox jumps over the lazy dog " * 20}]
    tight = prompt_upper_bound(messages, model="gpt-4o")
    loose = prompt_upper_bound(messages)
    assert tight < loose / 3
    assert tight >= counter("gpt-4o")(str(messages[0]["content"])) + PER_MESSAGE


def test_every_input_member_counts() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}]}
    base = chat_input_bound(body)
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    assert chat_input_bound({**body, "response_format": schema}) > base
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    assert chat_input_bound({**body, "tools": tools}) > base


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=1, max_size=4))
def test_the_bound_never_undercounts_the_joined_prompt(texts: list[str]) -> None:
    messages = [{"role": "user", "content": t} for t in texts]
    for model in ("gpt-4o", "gpt-4", None):
        joined = counter(model)("".join(texts))
        assert prompt_upper_bound(messages, model=model) >= joined
