"""Obligation values: when two say the same thing, and why one fails its validator.

A value is what the user said (`Sensitive` in the contracts, so audit encrypts it); the
reason a value is rejected is not marked. So a rejection names where and what rule failed,
with the value itself taken out of the validator's message.
"""

from __future__ import annotations

import re
from typing import Any

from agentsuite_kit.errors import Invalid
from agentsuite_kit.schemas import violations

MAX_REASON = 500
_INDEX = re.compile(r"\[(\d+)\]")
_MISSING = object()


def _norm(value: Any) -> Any:
    """A value for comparison: JSON's types (true is not 1), case and spacing of text aside."""
    if isinstance(value, str):
        return ("s", " ".join(value.split()).casefold())
    if isinstance(value, bool) or value is None:
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", value)
    if isinstance(value, list):
        return ("l", tuple(_norm(v) for v in value))
    if isinstance(value, dict):
        return ("o", frozenset((k, _norm(v)) for k, v in value.items()))
    return ("?", repr(value))


def same(a: Any, b: Any) -> bool:
    """Whether two values say the same thing (their depth is bounded where they come in)."""
    try:
        return bool(_norm(a) == _norm(b))
    except RecursionError:
        return False


def at(value: Any, path: str) -> Any:
    """The part of `value` at a violation's `path` (`$`, `$.key`, `$[2]`, ...), or _MISSING.
    A key may itself hold `.` or `[`: the longest key that fits is taken."""
    rest, node = path[1:], value
    while rest:
        index = _INDEX.match(rest)
        if isinstance(node, list) and index is not None and int(index[1]) < len(node):
            node, rest = node[int(index[1])], rest[index.end() :]
        elif isinstance(node, dict) and rest.startswith("."):
            fits = [
                k
                for k in node
                if isinstance(k, str)
                and rest.startswith(k, 1)
                and (len(rest) == len(k) + 1 or rest[len(k) + 1] in ".[")
            ]
            if not fits:
                return _MISSING
            key = max(fits, key=len)
            node, rest = node[key], rest[len(key) + 1 :]
        else:
            return _MISSING
    return node


def _redacted(message: str, instance: Any) -> str | None:
    """`message` without `instance` in it; None when it cannot be told apart."""
    spelled = [repr(instance)]
    if isinstance(instance, str):
        spelled.append(repr(instance[:200]))  # the kit's pattern messages cut it there
    for text in spelled:
        if text.startswith(message):  # the message is the value's beginning (cut at 300)
            return None
        message = message.replace(text, "the value")
    return message


def invalid(validator: dict[str, Any], value: Any) -> str | None:
    """Why `value` fails `validator` (the first violation, the value left out), or None."""
    try:
        found = violations(validator, value)
    except Invalid as exc:  # a stored schema that cannot run rejects the value, not the turn
        return exc.message[:MAX_REASON]
    if not found:
        return None
    first = found[0]
    instance = at(value, first.path)
    said = None if instance is _MISSING else _redacted(first.message, instance)
    if said is not None and not isinstance(value, str | int | float | bool):
        said = _redacted(said, value)
    if said is None:
        said = "does not match the obligation's validator"
    return f"{first.path}: {said}"[:MAX_REASON]
