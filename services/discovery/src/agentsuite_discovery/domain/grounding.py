"""Grounding: the words that tie requirements to catalog tools and agents.

Both sides go through the same tokenizer, so a requirement's term matches a catalog entry's
term exactly (no stemming: `email` does not match `emails`; a miss costs a candidate, never
a wrong one). Every input is bounded before it is read: the requirements' values are
whatever the model extracted (any JSON, as deep and as long as the turn allowed) and a
catalog event's texts are another service's, so neither may cost more than a fixed amount
of work.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from agentsuite_kit.errors import Invalid

# the query side: how many terms a requirements document searches with
MAX_QUERY_TERMS = 32
# what of the values is read at all: the words of the first characters and nodes only
MAX_QUERY_CHARS = 64 * 1024
MAX_QUERY_NODES = 10_000
# the catalog side: what one entry is searchable by, and what is kept of its description
MAX_ENTRY_TERMS = 256
MAX_ENTRY_CHARS = 16 * 1024
MAX_DESCRIPTION = 2_000
# catalog's own bounds are tighter (128 for a tool name): past these an event is not catalog's
MAX_NAME = 200
MAX_VERSION = 64

# a word: letters and digits of any script; `_` and punctuation split (`web.search`,
# `send_email` are two words each)
_WORD = re.compile(r"[^\W_]+")
# one letter says nothing; a "word" this long is a hash or an attack, not a requirement
_MIN_LEN, _MAX_LEN = 2, 40

STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing done down during
    each either else etc few for from further get gets had has have having he her here hers
    him his how i if in into is it its itself just like may me might more most must my
    need needs no nor not now of off on once only or other our ours out over own per please
    same shall she should so some such than that the their theirs them then there these
    they this those through to too under until up us use used using very via want wants
    was we were what when where which while who whom why will with within without would
    yes you your yours null true false none
    """.split()  # noqa: SIM905  a word list reads (and diffs) better as prose than as 150 literals
)


def words(text: str) -> list[str]:
    """The lower-cased words of `text` in order, repeats kept, stop words and digits-only
    words out (callers bound `text`)."""
    found: list[str] = []
    for match in _WORD.finditer(text.casefold()):
        word = match.group()
        if _MIN_LEN <= len(word) <= _MAX_LEN and not word.isdigit() and word not in STOP_WORDS:
            found.append(word)
    return found


def _strings(value: Any) -> Iterable[str]:
    """The strings in decoded JSON `value` (values, not keys: an object's keys are the
    model's field names), document order, within `MAX_QUERY_NODES` and `MAX_QUERY_CHARS`.
    Iterative: a deep document is walked, never a RecursionError."""
    stack: list[Any] = [value]
    nodes, chars = 0, 0
    while stack and nodes < MAX_QUERY_NODES and chars < MAX_QUERY_CHARS:
        item = stack.pop()
        nodes += 1
        if isinstance(item, str):
            piece = item[: MAX_QUERY_CHARS - chars]
            chars += len(piece)
            yield piece
        elif isinstance(item, dict):
            stack.extend(reversed(list(islice(item.values(), MAX_QUERY_NODES))))
        elif isinstance(item, list | tuple):
            stack.extend(reversed(item[:MAX_QUERY_NODES]))
        # numbers, booleans, null and anything else: no words


def query_terms(value: Any, limit: int = MAX_QUERY_TERMS) -> list[str]:
    """At most `limit` distinct search terms from decoded JSON `value` (the requirements'
    values): the most frequent words first, ties in order of first appearance."""
    counts: Counter[str] = Counter()
    for text in _strings(value):
        counts.update(words(text))
    # Counter keeps first-insertion order and most_common's sort is stable
    return [word for word, _ in counts.most_common(max(0, limit))]


def entry_terms(*texts: str | None) -> list[str]:
    """What a catalog entry is found by: the distinct words of its texts, in order, at most
    `MAX_ENTRY_TERMS`."""
    seen: dict[str, None] = {}
    budget = MAX_ENTRY_CHARS
    for text in texts:
        if not text or budget <= 0:
            continue
        piece = text[:budget]
        budget -= len(piece)
        for word in words(piece):
            seen.setdefault(word, None)
            if len(seen) >= MAX_ENTRY_TERMS:
                return list(seen)
    return list(seen)


@dataclass(frozen=True, slots=True)
class Entry:
    """A catalog tool or agent as discovery keeps it."""

    name: str
    version: str
    description: str
    terms: tuple[str, ...]


def entry_of(name: str, version: str, description: str | None, *extra: str | None) -> Entry:
    """The entry a catalog event describes; `extra`: further texts it is found by (display
    name, category, tags). A name or version past catalog's own bounds is refused
    (`Invalid`: the event is dead-lettered); a long description is cut, not refused (what
    catalog accepts may grow)."""
    if not name or len(name) > MAX_NAME:
        raise Invalid("invalid_name", f"a catalog name is 1-{MAX_NAME} characters", field="name")
    if not version or len(version) > MAX_VERSION:
        raise Invalid(
            "invalid_version", f"a catalog version is 1-{MAX_VERSION} characters", field="version"
        )
    text = description or ""
    return Entry(
        name=name,
        version=version,
        description=text[:MAX_DESCRIPTION],
        terms=tuple(entry_terms(name, *extra, text)),
    )
