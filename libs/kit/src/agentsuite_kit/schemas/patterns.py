"""Regular expressions a tenant writes into a schema (`pattern`, `patternProperties`) that
would backtrack without end. Python's `re` (what `jsonschema` and so execution's input
check run) backtracks; no linear-time engine is installed here (google-re2 is not in the
offline cache), so a pattern is read with `re`'s own parser and refused when its shape is
one that makes backtracking exponential or of high polynomial degree:

- a quantified group holding another quantifier whose characters overlap the group's first
  ones, one of the two unbounded: `(a+)+`, `(\\w+\\s?)*`, `(.*a){20}`;
- an unbounded quantifier over alternatives that may start alike or match nothing:
  `(a|a)*`, `(a|aa)+`, `(\\w|\\d)+`;
- two unbounded quantifiers in a row over overlapping characters, nothing required between
  them: `\\d*\\d*x` (cubic under `re.search`, which tries every start: 13 s for 2,000
  digits here).

What stays is at worst cubic (`.*a.*x`) in the string's length, so the validator also bounds the
strings it checks against a pattern, each and in all (`schemas.MAX_PATTERN_INPUT`,
`schemas.MAX_PATTERN_WORK`).

Conservative by design: a safe pattern of those shapes (`(a+b)+`) is refused too, with a
reason naming the construct; `(-[a-z]+)*`, `^(\\d{1,3}\\.){3}\\d{1,3}$` and the like pass.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

# `re`'s parser (the deprecated `sre_parse` names it): the exact syntax `re` accepts
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

MAX_CACHED = 1_000
UNBOUNDED = _c.MAXREPEAT
REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT)
ZERO_WIDTH = (_c.AT, _c.ASSERT, _c.ASSERT_NOT)
# the characters overlap is judged on: Latin, its extensions, one CJK and one emoji point
SAMPLE = frozenset([*range(0x300), 0x4E00, 0x1F600])
CATEGORIES = {
    name: frozenset(c for c in SAMPLE if re.fullmatch(rx, chr(c)))
    for name, rx in (
        (_c.CATEGORY_DIGIT, r"\d"),
        (_c.CATEGORY_NOT_DIGIT, r"\D"),
        (_c.CATEGORY_SPACE, r"\s"),
        (_c.CATEGORY_NOT_SPACE, r"\S"),
        (_c.CATEGORY_WORD, r"\w"),
        (_c.CATEGORY_NOT_WORD, r"\W"),
    )
}


def _in(items: Any) -> frozenset[int]:
    found: set[int] = set()
    negate = False
    for op, av in items:
        if op == _c.NEGATE:
            negate = True
        elif op == _c.LITERAL:
            found.add(av)
        elif op == _c.RANGE:
            found.update(c for c in SAMPLE if av[0] <= c <= av[1])
        elif op == _c.CATEGORY:
            found.update(CATEGORIES.get(av, SAMPLE))
        else:
            found.update(SAMPLE)
    return SAMPLE - found if negate else frozenset(found)


def _children(op: Any, av: Any) -> Iterator[Any]:
    """The sub-sequences of one parsed item."""
    if op in REPEATS or op == _c.POSSESSIVE_REPEAT:
        yield av[2]
    elif op == _c.SUBPATTERN:
        yield av[3]
    elif op == _c.BRANCH:
        yield from av[1]
    elif op in (_c.ASSERT, _c.ASSERT_NOT):
        yield av[1]
    elif op == _c.ATOMIC_GROUP:
        yield av
    elif op == _c.GROUPREF_EXISTS:
        yield from (s for s in av[1:] if s is not None)


def _chars(seq: Any) -> frozenset[int]:
    """Every character a sequence may consume."""
    found: set[int] = set()
    for op, av in seq:
        if op == _c.LITERAL:
            found.add(av)
        elif op == _c.IN:
            found.update(_in(av))
        elif op in (_c.NOT_LITERAL, _c.ANY, _c.GROUPREF):
            found.update(SAMPLE)
        for child in _children(op, av):
            found.update(_chars(child))
    return frozenset(found)


def _nullable(op: Any, av: Any) -> bool:
    if op in ZERO_WIDTH:
        return True
    if op in REPEATS or op == _c.POSSESSIVE_REPEAT:
        return bool(av[0] == 0) or all(_nullable(o, a) for o, a in av[2])
    if op in (_c.SUBPATTERN, _c.BRANCH, _c.ATOMIC_GROUP, _c.GROUPREF_EXISTS):
        return any(all(_nullable(o, a) for o, a in child) for child in _children(op, av))
    return bool(op == _c.GROUPREF)


def _first(seq: Any) -> frozenset[int]:
    """The characters a sequence may start with."""
    found: set[int] = set()
    for op, av in seq:
        if op not in ZERO_WIDTH:
            found.update(
                _chars([(op, av)])
                if op not in (_c.SUBPATTERN, _c.BRANCH, *REPEATS)
                else frozenset().union(*(_first(c) for c in _children(op, av)))
            )
        if not _nullable(op, av):
            break
    return frozenset(found)


def _repeats(seq: Any) -> Iterator[tuple[int, Any]]:
    """The backtracking quantifiers (more than once) anywhere in `seq`: (max, body)."""
    for op, av in seq:
        if op in REPEATS and av[1] > 1:
            yield av[1], av[2]
        if op != _c.POSSESSIVE_REPEAT and op != _c.ATOMIC_GROUP:
            for child in _children(op, av):
                yield from _repeats(child)


def _branches(seq: Any) -> Iterator[list[Any]]:
    for op, av in seq:
        if op == _c.BRANCH:
            yield av[1]
        for child in _children(op, av):
            yield from _branches(child)


def _risk_of_repeat(high: int, body: Any) -> str | None:
    start = _first(body)
    for inner_high, inner in _repeats(body):
        if (high == UNBOUNDED or inner_high == UNBOUNDED) and start & _chars(inner):
            return "a quantifier inside a quantified group over the same characters"
    if high == UNBOUNDED:
        for alternatives in _branches(body):
            if any(all(_nullable(o, a) for o, a in alt) for alt in alternatives):
                return "alternatives under a quantifier where one matches nothing"
            seen: set[int] = set()  # one pass: thousands of alternatives stay linear
            for alternative in alternatives:
                first = _first(alternative)
                if not seen.isdisjoint(first):
                    return "alternatives under a quantifier that may start alike"
                seen |= first
    return None


def _risk_of_sequence(seq: Any) -> str | None:
    run: frozenset[int] = frozenset()
    count = 0
    for op, av in seq:
        if op in REPEATS and av[1] == UNBOUNDED:
            # where one ends and the next starts is ambiguous when the next may start
            # with what the one before consumes (`[a-z]+(-[a-z]+)*` is not)
            chars = _chars(av[2])
            count = count + 1 if _first(av[2]) & run else 1
            run = chars if count == 1 else run | chars
            if count >= 2:
                return (
                    "two unbounded quantifiers in a row over the same characters (an "
                    "unanchored pattern matches anywhere: drop a leading or trailing .*)"
                )
        elif not _nullable(op, av):
            # something required in between bounds the splits to its occurrences: at most
            # a degree more, which MAX_PATTERN_INPUT bounds (`[a-z.]+\\.[a-z]+`, e-mails)
            run, count = frozenset(), 0
    return None


def _walk(seq: Any) -> str | None:
    risk = _risk_of_sequence(seq)
    for op, av in seq:
        if risk is not None:
            break
        if op in REPEATS and av[1] > 1:
            risk = _risk_of_repeat(av[1], av[2])
        for child in _children(op, av):
            risk = risk or _walk(child)
    return risk


def backtracking_risk(pattern: str) -> str | None:
    """Why matching `pattern` with `re` may not end on a hostile string, or None (also for
    a pattern `re` cannot parse: the schema check reports that one)."""
    # validation asks again for every value: short patterns (all real ones) are cached,
    # a long one is not kept in memory
    return _cached(pattern) if len(pattern) <= MAX_CACHED else _risk(pattern)


@lru_cache(maxsize=1024)
def _cached(pattern: str) -> str | None:
    return _risk(pattern)


def _risk(pattern: str) -> str | None:
    try:
        parsed = _parser.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return None
    try:
        return _walk(parsed.data)
    except RecursionError:
        return "groups nested too deeply to check"
