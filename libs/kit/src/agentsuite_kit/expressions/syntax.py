"""The syntax of references and expressions: tokens, `${...}` references, the parse tree.

Hand-written (never Python's eval or ast): a tokenizer and a recursive-descent parser.
Operator chains of one precedence level are one flat node (`Chain`), so a long `a + b + c
...` is a loop, not recursion; only nesting (parentheses, calls, indexes, unary operators)
deepens the tree, and it is capped at MAX_DEPTH. Precedence, loosest first: `or`, `and`,
`not`, comparisons and `in`/`not in` (chained like Python), `+ -`, `* / %`, unary `- +`,
then indexing `[...]` and `.name`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_LENGTH = 2000
MAX_DEPTH = 50


class ExpressionError(ValueError):
    """A reference or expression that cannot be parsed or evaluated; says what and where."""


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Path:
    """`head` (a scope name, or any node) followed by keys: str/int constants or nodes."""

    head: str | Node
    keys: tuple[str | int | Node, ...]
    text: str


@dataclass(frozen=True)
class ListOf:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Unary:
    op: str  # "-", "+" or "not"
    operand: Node


@dataclass(frozen=True)
class Chain:
    """`first op1 x1 op2 x2 ...` of one precedence level: and/or, +-, */%, comparisons."""

    first: Node
    rest: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


Node = Literal | Path | ListOf | Unary | Chain | Call

_ARITY = {"len": 1, "lower": 1, "upper": 1, "contains": 2, "startswith": 2, "exists": 1}
_CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False}
_CONSTANTS["None"] = None
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}
_TOKEN = re.compile(
    r"""(?P<num>[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
    |(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op>==|!=|<=|>=|[-<>+*/%()\[\],.])
    |(?P<ref>\$\{)""",
    re.VERBOSE | re.DOTALL,
)
_SPACES = re.compile(" *")
_INDEX_DIGITS = 18
_KEY = re.compile(r"[^.\[\](){}'\"$\s]+")
_SEGMENT = re.compile(r"""\.([^.\[\](){}'"$\s]+)|\[\s*(?:(-?\d+)|'([^']*)'|"([^"]*)")\s*\]""")


def quote(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


# the common reference in one match: `.name` keys and plain `[0]` indexes, no spaces inside
# the brackets; anything else (quoted keys, spaced or long indexes, errors) takes the
# general path below, which parses the same subset to the same Path
_PLAIN_REF = re.compile(
    r"""\$\{ *([^.\[\](){}'"$\s]+)((?:\.[^.\[\](){}'"$\s]+|\[-?\d{1,"""
    + str(_INDEX_DIGITS)
    + r"""}\])*) *\}"""
)
_PLAIN_WHOLE = re.compile(f"({_PLAIN_REF.pattern})")  # findall: (the reference, head, keys)
_PLAIN_KEY = re.compile(r"""\.([^.\[\](){}'"$\s]+)|\[(-?\d+)\]""")


def read_ref(text: str, start: int) -> tuple[Path, int]:
    """The reference whose `${` is at `start`, and the index just past its `}`."""
    plain = _PLAIN_REF.match(text, start)
    if plain is not None:  # a third of the time on the references plans are made of
        found = _PLAIN_KEY.findall(plain.group(2))
        keys = tuple(name if name else int(index) for name, index in found)
        return Path(plain.group(1), keys, plain.group()), plain.end()
    return read_ref_general(text, start)


def read_ref_general(text: str, start: int) -> tuple[Path, int]:
    """`read_ref` for any reference (and its errors), one key at a time."""
    # spaces skipped by matching, not lstrip: a copy of the rest per reference is quadratic
    i = _SPACES.match(text, start + 2).end()  # type: ignore[union-attr]  # ` *` always matches
    head = _KEY.match(text, i)
    keys: list[str | int | Node] = []
    if head is not None:
        i = head.end()
        while seg := _SEGMENT.match(text, i):
            key = seg.group(seg.lastindex or 0)
            if seg.lastindex == 2 and len(key.lstrip("-")) > _INDEX_DIGITS:
                # int() refuses over 4,300 digits (a ValueError, not a refusal); no list
                # is that long anyway
                raise ExpressionError(f"index too large at {seg.start()} in {quote(text)}")
            keys.append(int(key) if seg.lastindex == 2 else key)
            i = seg.end()
        i = _SPACES.match(text, i).end()  # type: ignore[union-attr]  # ` *` always matches
    if head is None or not text.startswith("}", i):
        end = text.find("}", i)
        where = text[start : end + 1] if end >= 0 else text[start:]
        why = "missing `}`" if i >= len(text) else f"unexpected {text[i]!r} at {i}"
        why = "expected a name" if head is None else why
        raise ExpressionError(f"{why} in reference {quote(where)}")
    return Path(head.group(), tuple(keys), text[start : i + 1]), i + 1


def template_paths(text: str, known: dict[str, Path] | None = None) -> list[Path]:
    """The references of `text`, as `template(text)` has them, in order. `known` (the
    caller's, one per batch of texts) maps a plain reference as written to its Path: a plan
    repeats `${inputs.goal}` and `${steps.k.output}` in many strings, each read once."""
    raws = _PLAIN_WHOLE.findall(text)
    if len(raws) != text.count("${") or "$${" in text:
        # an escape, a quoted key, spaces in brackets, an error: the general reader
        return [p for p in template(text) if isinstance(p, Path)]
    # the common text, every `${` a plain reference, read in one C scan
    known = {} if known is None else known
    out: list[Path] = []
    for raw, head, keys in raws:
        ref = known.get(raw)
        if ref is None:  # read_ref's fast path, from the groups already matched
            found = _PLAIN_KEY.findall(keys)
            path = tuple(name if name else int(index) for name, index in found)
            ref = known[raw] = Path(head, path, raw)
        out.append(ref)
    return out


def template(text: str) -> list[str | Path]:
    """A string as its literal parts and references; `$${` is a literal `${`."""
    parts: list[str | Path] = []
    literal = ""
    i = 0
    while (j := text.find("${", i)) >= 0:
        if j > 0 and text[j - 1] == "$":
            literal += text[i : j - 1] + "${"
            i = j + 2
            continue
        literal += text[i:j]
        ref, i = read_ref(text, j)
        parts += [literal, ref]
        literal = ""
    parts.append(literal + text[i:])
    return [p for p in parts if p != ""]


# --- expressions ---------------------------------------------------------------------------

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=", "in", "not")
_LEVELS = (("or",), ("and",), COMPARISONS, ("+", "-"), ("*", "/", "%"))
_WORDS = {"and", "or", "not", "in"}


def _tokens(text: str) -> list[tuple[str, Any, int]]:
    """(kind, value, position) with kinds num, str, name, op, ref and a final end."""
    out: list[tuple[str, Any, int]] = []
    i = 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            break
        m = _TOKEN.match(text, i)
        if m is None or m.lastgroup is None:
            raise ExpressionError(f"unexpected {text[i]!r} at {i} in {quote(text)}")
        kind, raw, at = m.lastgroup, m.group(), i
        i = m.end()
        if kind == "num":
            value: Any = int(raw) if raw.isdigit() else float(raw)
            if value == math.inf:
                raise ExpressionError(f"number too large at {at} in {quote(text)}")
        elif kind == "str":
            value = _unescape(raw, at, text)
        elif kind == "ref":
            value, i = read_ref(text, at)
        else:
            value = raw
            kind = "op" if raw in _WORDS else kind
        out.append((kind, value, at))
    out.append(("end", None, len(text)))
    return out


def _unescape(raw: str, at: int, text: str) -> str:
    """The string literal `raw` (quotes included) found at `at` in `text`, unescaped."""

    def one(m: re.Match[str]) -> str:
        if m.group(1) not in _ESCAPES:
            raise ExpressionError(f"unknown escape at {at + 1 + m.start()} in {quote(text)}")
        return _ESCAPES[m.group(1)]

    return re.sub(r"\\(.)", one, raw[1:-1], flags=re.DOTALL)


class _Parser:
    """Recursive descent over the token list; `depth` counts nesting, capped at MAX_DEPTH."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.pos = 0
        self.depth = 0

    def fail(self, why: str) -> ExpressionError:
        return ExpressionError(f"{why} at {self.toks[self.pos][2]} in {quote(self.text)}")

    def peek(self, *ops: str) -> bool:
        kind, value, _ = self.toks[self.pos]
        return kind == "op" and value in ops

    def take(self, op: str) -> None:
        if not self.peek(op):
            raise self.fail(f"expected {op!r}")
        self.pos += 1

    def nested(self, parse: Callable[[], Node]) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested deeper than {MAX_DEPTH}")
        node = parse()
        self.depth -= 1
        return node

    def expr(self) -> Node:
        return self.nested(lambda: self.binary(0))

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.unary()
        # `not x` binds looser than comparisons, tighter than and
        operand = self.negation if level == 1 else lambda: self.binary(level + 1)
        first = operand()
        rest: list[tuple[str, Node]] = []
        while self.peek(*_LEVELS[level]):
            op = self.toks[self.pos][1]
            self.pos += 1
            if op == "not":
                self.take("in")
                op = "not in"
            rest.append((op, operand()))
        return Chain(first, tuple(rest)) if rest else first

    def negation(self) -> Node:
        if not self.peek("not"):
            return self.binary(2)
        self.pos += 1
        return Unary("not", self.nested(self.negation))

    def unary(self) -> Node:
        if not self.peek("-", "+"):
            return self.postfix()
        op = self.toks[self.pos][1]
        self.pos += 1
        return Unary(op, self.nested(self.unary))

    def postfix(self) -> Node:
        start = self.toks[self.pos][2]
        node = self.primary()
        keys: list[str | int | Node] = []
        while self.peek(".", "["):
            self.pos += 1
            if self.toks[self.pos - 1][1] == "[":
                index = self.expr()
                constant = isinstance(index, Literal) and type(index.value) in (str, int)
                keys.append(index.value if isinstance(index, Literal) and constant else index)
                self.take("]")
                continue
            kind, value, _ = self.toks[self.pos]
            if kind not in ("name", "op") or not value.isidentifier():
                raise self.fail("expected a name after '.'")
            keys.append(value)
            self.pos += 1
        if not keys:
            return node
        text = self.text[start : self.toks[self.pos][2]].rstrip()
        if isinstance(node, Path):
            return Path(node.head, (*node.keys, *keys), text)
        return Path(node, tuple(keys), text)

    def primary(self) -> Node:
        kind, value, _ = self.toks[self.pos]
        self.pos += 1
        if kind in ("num", "str"):
            return Literal(value)
        if kind == "ref":
            return value  # type: ignore[no-any-return]  # _tokens stores the Path here
        if kind == "name" and value in _CONSTANTS:
            return Literal(_CONSTANTS[value])
        if kind == "name" and self.peek("("):
            return self.call(value)
        if kind == "name":
            return Path(value, (), value)
        if value == "(":
            node = self.expr()
            self.take(")")
            return node
        if value == "[":
            return ListOf(self.items("]"))
        self.pos -= 1
        raise self.fail("unexpected end" if kind == "end" else "expected a value")

    def items(self, close: str) -> tuple[Node, ...]:
        out: list[Node] = []
        while not self.peek(close):
            out.append(self.expr())
            if not self.peek(close):
                self.take(",")
        self.take(close)
        return tuple(out)

    def call(self, name: str) -> Node:
        if name not in _ARITY:
            raise self.fail(f"unknown function {name!r}")
        self.pos += 1
        args = self.items(")")
        if len(args) != _ARITY[name]:
            raise self.fail(f"{name}() takes {_ARITY[name]} argument(s), got {len(args)}")
        if name == "exists" and not isinstance(args[0], Path):
            raise self.fail("exists() takes a reference")
        return Call(name, args)


def parse(expression: str) -> Node:
    """The syntax tree of `expression`; an ExpressionError says what is wrong and where."""
    if len(expression) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    parser = _Parser(expression)
    node = parser.expr()
    if parser.toks[parser.pos][0] != "end":
        raise parser.fail("unexpected token")
    return node
