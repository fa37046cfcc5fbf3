"""Text PostgreSQL cannot hold, found once for every edge, consumer and outside source.

PostgreSQL's `text` refuses NUL (U+0000) and `jsonb` refuses it even escaped (`\\u0000`);
asyncpg cannot encode a lone surrogate (U+D800..U+DFFF unpaired, which Python's json module
decodes `"\\ud800"` into), and jsonb has no NaN or Infinity (which json.loads accepts). Any
of them in a value that reaches a statement was a 500 (or a retried crash) at the INSERT
instead of a refusal naming the field. Nesting is bounded too (`MAX_JSON_DEPTH`): a document
deeper than pydantic serializes was stored, then every read or event that carried it was a
500 ("Maximum serialization depth exceeded"). `unstorable` finds the first such string or number
in a decoded JSON value (keys included); `escaped` is the copy that can be stored, for text
that comes from outside and is kept rather than refused.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass
from typing import Any

# a cheap filter over raw JSON bytes: what can decode into a flaw. A hit may be a false
# alarm (an escaped backslash, a surrogate pair, "NaN" in a string): the walk decides.
_SUSPECT = re.compile(
    rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})|\x00|\xed[\xa0-\xbf]|NaN|Infinity"
)
# a number literal json.loads turns into an infinity without the text "Infinity": an exponent
# of three digits or more (1e999, -1E400, 1.5e+309) or a digit run past a double's range
# (a float of 400 digits). False alarms (1e100, "e123" in a string) cost only the walk.
_HUGE = re.compile(rb"[eE][+-]?\d{3}|\d{300}")
# how deep a decoded document may nest (containers within containers; a scalar at the root is
# 0). pydantic-core stops serializing at about 255 levels, and a stored value sits a few
# levels down inside the event envelope or the response page that carries it: 64 leaves that
# headroom many times over and is far past what any real inputs, context or data needs.
MAX_JSON_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")
_FLAWED = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Unstorable:
    """Where (`path`: `inputs.x`, `data.items[2]`, '' for the root) and why."""

    path: str
    reason: str

    def joined(self, prefix: str) -> Unstorable:
        """The same finding under `prefix` (the field the walked value sits in)."""
        if not self.path:
            return Unstorable(prefix, self.reason)
        sep = "" if self.path.startswith("[") else "."
        return Unstorable(f"{prefix}{sep}{self.path}", self.reason)


def text_flaw(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    if "\x00" in text:
        return "contains NUL (U+0000)"
    found = _SURROGATE.search(text)
    if found is not None:
        return f"contains an unpaired surrogate (U+{ord(found.group()):04X})"
    return None


def _number_flaw(value: float) -> str | None:
    return None if math.isfinite(value) else f"is a non-finite number ({value})"


def unstorable(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> Unstorable | None:  # noqa: C901  one iterative walk over every JSON shape (kept iterative so deep documents cannot recurse)
    """The first string (key or value) or number in `value` (decoded JSON: dicts, lists,
    scalars) PostgreSQL cannot hold, or the first container nested past `max_depth`, in
    document order; None if all can be stored. Iterative: a deeply nested document is
    walked, not a RecursionError."""
    # (item, parent path entry, depth) with the path built only for a finding
    stack: list[tuple[Any, _Path | None, int]] = [(value, None, 0)]
    while stack:
        item, at, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            depth += 1
            if depth > max_depth:
                return Unstorable(_render(at), f"is nested deeper than {max_depth} levels")
        if isinstance(item, str):
            reason = text_flaw(item)
            if reason is not None:
                return Unstorable(_render(at), reason)
        elif isinstance(item, float):
            reason = _number_flaw(item)
            if reason is not None:
                return Unstorable(_render(at), reason)
        elif isinstance(item, dict):
            children: list[tuple[Any, _Path | None, int]] = []
            for key, inner in item.items():
                if isinstance(key, str):
                    reason = text_flaw(key)
                    if reason is not None:
                        return Unstorable(_render((at, key)), f"a key {reason}")
                children.append((inner, (at, key), depth))
            stack.extend(reversed(children))
        elif isinstance(item, list | tuple):
            stack.extend((inner, (at, i), depth) for i, inner in reversed(list(enumerate(item))))
    return None


_Path = tuple[Any, str | int]  # (parent path entry or None, key or index)


def _render(at: _Path | None) -> str:
    parts: list[str | int] = []
    while at is not None:
        at, part = at
        parts.append(part)
    path = ""
    for part in reversed(parts):
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + escape_text(str(part))
    return path


def suspect(raw: bytes, *, numbers: bool = True, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether raw JSON bytes may decode into something `unstorable` finds (cheap: byte
    searches and counts, then a regex; the hot path skips the decode and walk when it says
    no). `numbers=False` for a parser that refuses NaN and Infinity itself (orjson; it
    refuses an overflowing literal too)."""
    return _hinted(raw, numbers) or _bracketed(raw, max_depth)


def _hinted(raw: bytes, numbers: bool) -> bool:
    # one-byte searches first (memchr speed): a flaw in JSON text needs a backslash escape,
    # a raw NUL or a raw surrogate's lead byte 0xED; most bodies hold none of them
    if (b"\\" in raw or b"\x00" in raw or b"\xed" in raw) and _SUSPECT.search(raw) is not None:
        return True
    return numbers and (b"NaN" in raw or b"Infinity" in raw or _HUGE.search(raw) is not None)


def _bracketed(raw: bytes, max_depth: int) -> bool:
    # nesting past the bound needs more opening brackets than the bound (strings included:
    # a false alarm costs a containers-only walk, which measures the real depth)
    return raw.count(b"[") + raw.count(b"{") > max_depth


def nested_past(value: Any, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether decoded JSON `value` nests containers deeper than `max_depth`: containers
    only, a third of the full walk's cost on a large chat body (it runs on most of them)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list | tuple):
            continue
        if depth > max_depth:
            return True
        inner = item.values() if isinstance(item, dict) else item
        stack.extend((x, depth + 1) for x in inner if isinstance(x, dict | list | tuple))
    return False


def unstorable_decoded(
    value: Any, raw: bytes, *, numbers: bool = True, max_depth: int = MAX_JSON_DEPTH
) -> Unstorable | None:
    """`unstorable(value)` for `value` decoded from `raw`, walked only when the bytes hint
    at a flaw or hold enough brackets to nest too deep (then measured first)."""
    if _hinted(raw, numbers) or (_bracketed(raw, max_depth) and nested_past(value, max_depth)):
        return unstorable(value, max_depth=max_depth)
    return None


def unstorable_json(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Unstorable | None:
    """`unstorable` of a raw JSON document; None when it is fine or is not JSON (the
    parser that reads it afterwards answers that)."""
    if not suspect(raw, max_depth=max_depth):
        return None
    try:
        decoded = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return unstorable_decoded(decoded, raw, max_depth=max_depth)


def escape_text(text: str) -> str:
    """`text` with NUL and unpaired surrogates spelled out as `\\u0000`, `\\ud800`: what
    was received stays readable, and the result can be stored."""
    if _FLAWED.search(text) is None:
        return text
    return _FLAWED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def escaped(value: Any) -> Any:
    """A copy of decoded JSON `value` that PostgreSQL can hold: strings (keys included)
    through `escape_text`, NaN and infinities as their names. `value` itself when it can be
    stored already (the common case costs one walk, no copy). Depth is not its business:
    the copy nests as deep as `value`."""
    if unstorable(value, max_depth=sys.maxsize) is None:
        return value
    return _escape(value)


def _escape(value: Any) -> Any:
    # iterative like the walk: an outside document may nest as deep as its parser allows
    def leaf(item: Any) -> Any:
        if isinstance(item, str):
            return escape_text(item)
        if isinstance(item, float) and not math.isfinite(item):
            return "NaN" if math.isnan(item) else ("Infinity" if item > 0 else "-Infinity")
        return item

    def shell(item: Any) -> Any:
        return {} if isinstance(item, dict) else [] if isinstance(item, list | tuple) else None

    root = shell(value)
    if root is None:
        return leaf(value)
    stack: list[tuple[Any, Any]] = [(value, root)]
    while stack:
        source, target = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, inner in items:
            copy = shell(inner)
            made = leaf(inner) if copy is None else copy
            if isinstance(target, dict):
                target[escape_text(key) if isinstance(key, str) else key] = made
            else:
                target.append(made)
            if copy is not None:
                stack.append((inner, copy))
    return root
