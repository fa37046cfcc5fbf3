"""Upper bounds of the input tokens of an OpenAI-shaped chat request: what llm-gateway's
budgets reserve and what execution reserves on a run's budget. One function for both: a
run whose estimate were smaller than the gateway's would pass a cost hint the gateway
refuses, one whose estimate were a guess (characters / 4) would overspend its budget.

A model of a known OpenAI family is counted with its own tokenizer (`bpe-openai` bundles
the cl100k and o200k vocabularies, so nothing is downloaded); any other model counts every
UTF-8 byte as a token (a BPE token is at least one byte, so bytes never under-count).
Either way each message adds `PER_MESSAGE` for the chat template's framing (OpenAI's is 3
or 4) and each image `IMAGE_TOKENS`. The tokenizer counts each string on its own: split
text never makes fewer tokens than the whole, so the sum stays an upper bound.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

# what a message costs beyond its text: role, separators, the chat template's framing
PER_MESSAGE = 8
# an image is billed by its pixels, not by its URL's length: this bounds OpenAI's high-detail
# tiles (765 + 170 per tile at 2048px) and Anthropic's ~1600 tokens per full-size image
IMAGE_TOKENS = 2_000
# members of a chat body besides messages and tools that the provider reads as input
EXTRA_INPUT = ("response_format", "functions", "prediction", "tool_choice", "function_call")

# model name prefixes -> the vocabulary their tokenizer uses (longest prefix first)
_FAMILIES = (
    ("gpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("text-embedding-3", "cl100k_base"),
    ("text-embedding-ada-002", "cl100k_base"),
)

Count = Callable[[str], int]


def encoding_of(model: str | None) -> str | None:
    """The vocabulary of `model`'s tokenizer when its family is known (a provider prefix
    such as `openai/` is ignored); None: count bytes."""
    if not model:
        return None
    name = model.rsplit("/", 1)[-1].lower()
    for prefix, encoding in _FAMILIES:
        if name == prefix or name.startswith((prefix + "-", prefix + ".", prefix + ":")):
            return encoding
    return None


@lru_cache(maxsize=4)
def _tokenizer(encoding: str) -> Count:
    # loaded on first use (both vocabularies: under a second, ~150 MB), then kept
    with warnings.catch_warnings():
        # it reads its bundled vocabularies (on import) with the deprecated
        # importlib.resources.open_binary
        warnings.simplefilter("ignore", DeprecationWarning)
        import bpe_openai  # type: ignore[import-untyped]  # the package ships no type hints

        enc = bpe_openai.get_encoding(encoding)

    def count(text: str) -> int:
        return len(enc.encode_ordinary(text))

    return count


def _bytes(text: str) -> int:
    return len(text.encode())


def counter(model: str | None) -> Count:
    """How `model`'s input is counted: its tokenizer, or UTF-8 bytes."""
    encoding = encoding_of(model)
    return _bytes if encoding is None else _tokenizer(encoding)


def _text(value: Any, count: Count) -> int:
    """Tokens of every string inside `value` (keys of tool-call objects included)."""
    if isinstance(value, str):
        return count(value) if value else 0
    if isinstance(value, Mapping):
        if value.get("type") in ("image_url", "image", "input_image"):
            return IMAGE_TOKENS
        return sum(_text(k, count) + _text(v, count) for k, v in value.items())
    if isinstance(value, Iterable) and not isinstance(value, bytes | bytearray):
        return sum(_text(v, count) for v in value)
    return len(str(value)) if value is not None else 0


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def prompt_upper_bound(
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] | None = None,
    model: str | None = None,
) -> int:
    """At least as many tokens as `model` makes of this prompt: every text (content parts,
    names, tool calls), the tool schemas as JSON, and `PER_MESSAGE` per message; images
    count `IMAGE_TOKENS` each."""
    count = counter(model)
    total = sum(_text(m, count) + PER_MESSAGE for m in messages)
    if tools:
        total += count(_json(list(tools)))
    return total


def chat_input_bound(body: Mapping[str, Any], model: str | None = None) -> int:
    """The same bound for a whole chat body: its messages, tools and every other member a
    provider reads as input (a 40 KB `response_format` schema is input too)."""
    count = counter(model)
    total = prompt_upper_bound(body["messages"], body.get("tools"), model)
    for name in EXTRA_INPUT:
        value = body.get(name)
        if value is not None:
            total += count(_json(value))
    return total
