"""What an OpenAI chat or embeddings body asks of the gateway, read once, before routing.

Only the members the gateway itself relies on are checked here (the provider validates the
rest, as OpenAI would): the capabilities the request needs, how many choices it wants, the
output caps it names, and an upper bound of its input. Everything a provider bills as input
counts towards that bound, not just `messages` and `tools`: a 40 KB `response_format`
schema is input too.
"""

from __future__ import annotations

from typing import Any

from agentsuite_kit.tokens import PER_MESSAGE, chat_input_bound
from agentsuite_llm_gateway.domain.errors import Code, GatewayError

Json = dict[str, Any]

MAX_CHOICES = 16
"""`n` above this is refused: each choice is billed output, and the reservation covers
every one of them."""

OUTPUT_CAPS = ("max_completion_tokens", "max_tokens")


def _invalid(param: str, message: str) -> GatewayError:
    return GatewayError(Code.INVALID_REQUEST, f"{param}: {message}", param=param)


def needs(body: Json) -> frozenset[str]:
    """Capabilities a chat request needs of its model: `tools`, `vision`."""
    found: set[str] = set()
    if body.get("tools"):
        found.add("tools")
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(
            isinstance(p, dict) and p.get("type") == "image_url" for p in content
        ):
            found.add("vision")
    return frozenset(found)


def check_chat(body: Json) -> None:
    """Refuse, naming the member, what the gateway would otherwise misread."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _invalid("messages", "at least one message is required (or a prompt reference)")
    if not all(isinstance(m, dict) for m in messages):
        raise _invalid("messages", "every message must be an object")
    tools = body.get("tools")
    if tools is not None and not (
        isinstance(tools, list) and all(isinstance(t, dict) for t in tools)
    ):
        raise _invalid("tools", "must be an array of tool objects")
    for name in OUTPUT_CAPS:
        value = body.get(name)
        if value is not None and (not _positive(value)):
            raise _invalid(name, "must be a positive integer")
    choices(body)


def choices(body: Json) -> int:
    """`n`: how many answers the request wants (1 when absent)."""
    n = body.get("n")
    if n is None:
        return 1
    if not _positive(n) or n > MAX_CHOICES:
        raise _invalid("n", f"must be an integer from 1 to {MAX_CHOICES}")
    return int(n)


def output_asked(body: Json) -> int:
    """The output cap the request names (the smaller, if it names both); 0: none."""
    named = [v for v in (body.get(n) for n in OUTPUT_CAPS) if isinstance(v, int) and v > 0]
    return min(named) if named else 0


def bound_output(body: Json, cap: int) -> Json:
    """`body` with every output cap it names lowered to `cap`, and `max_tokens` set to
    `cap` when it names none: what makes a reservation a true bound upstream."""
    named = [n for n in OUTPUT_CAPS if body.get(n) is not None]
    return {**body, **{n: cap for n in (named or ["max_tokens"])}}


def input_bound(body: Json, model: str | None = None) -> int:
    """At least as many input tokens as `model` (None: any tokenizer) makes of this chat
    request."""
    return chat_input_bound(body, model)


def embedding_bound(value: Any) -> int:
    """The same bound for an embeddings `input` (a string, strings, or token arrays)."""
    if isinstance(value, str):
        return len(value.encode()) + PER_MESSAGE
    if isinstance(value, int) and not isinstance(value, bool):
        return 1  # one token id
    if isinstance(value, list):
        return sum(embedding_bound(v) for v in value) or PER_MESSAGE
    return PER_MESSAGE


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
