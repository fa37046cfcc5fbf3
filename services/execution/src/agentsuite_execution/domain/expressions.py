"""References and expressions in plan steps: `${...}` in inputs, and condition/map expressions.

A reference names a scope value and a path into it: `${inputs.customer.id}`,
`${steps.fetch-leads.output.items[0].name}`, `${item}`. Inside `${}` a key is any run of
characters but `.[](){}$`, quotes and spaces; `["a.b"]` reaches any other key.

Lookup rules (the same in `render` and `evaluate`):
- an unknown top-level name, or a step not in `scope["steps"]`, is an ExpressionError:
  a typo must not pass silently;
- anything missing below that (a key an object lacks, an index out of range, a key on a
  non-object) is null, and null stays null further down: outputs are loosely shaped, and
  `exists(...)` or `== null` is how a plan tests for them. A digit key on a list indexes it.

Expressions are tokenized and parsed by hand (never Python's eval): literals, references
as `${...}` or bare paths (`steps.score.output.value`), indexing, arithmetic, comparison,
`in`, and/or/not and a few functions. Operator chains are flat nodes evaluated in loops,
so evaluation depth is the nesting depth (<= 50) and nothing can loop.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Scope = Mapping[str, Any]
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
    op: str  # "-" or "not"
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
_KEY = re.compile(r"[^.\[\](){}'\"$\s]+")
_SEGMENT = re.compile(r"""\.([^.\[\](){}'"$\s]+)|\[\s*(?:(-?\d+)|'([^']*)'|"([^"]*)")\s*\]""")


def _quote(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


# --- references: `${...}` ------------------------------------------------------------


def _read_ref(text: str, start: int) -> tuple[Path, int]:
    """The reference whose `${` is at `start`, and the index just past its `}`."""
    i = len(text) - len(text[start + 2 :].lstrip(" "))
    head = _KEY.match(text, i)
    keys: list[str | int | Node] = []
    if head is not None:
        i = head.end()
        while seg := _SEGMENT.match(text, i):
            key = seg.group(seg.lastindex or 0)
            keys.append(int(key) if seg.lastindex == 2 else key)
            i = seg.end()
        i = len(text) - len(text[i:].lstrip(" "))
    if head is None or not text.startswith("}", i):
        end = text.find("}", i)
        where = text[start : end + 1] if end >= 0 else text[start:]
        why = "missing `}`" if i >= len(text) else f"unexpected {text[i]!r} at {i}"
        why = "expected a name" if head is None else why
        raise ExpressionError(f"{why} in reference {_quote(where)}")
    return Path(head.group(), tuple(keys), text[start : i + 1]), i + 1


def _template(text: str) -> list[str | Path]:
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
        ref, i = _read_ref(text, j)
        parts += [literal, ref]
        literal = ""
    parts.append(literal + text[i:])
    return [p for p in parts if p != ""]


def render(value: Any, scope: Scope) -> Any:
    """`value` with its references replaced: a string that is exactly one `${ref}` becomes
    the value (any type), other references are interpolated as text (JSON unless a string).
    Walks lists and dict values (keys are left as written)."""
    if isinstance(value, dict):
        return {k: render(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, scope) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value
    parts = _template(value)
    if len(parts) == 1 and isinstance(parts[0], Path):
        return _resolve(parts[0], scope)
    out = []
    for part in parts:
        v = part if isinstance(part, str) else _resolve(part, scope)
        out.append(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
    return "".join(out)


def references(value: Any) -> set[str]:
    """Keys of the steps that `value` references as `steps.<key>`: in `${...}` of its strings
    (walking lists and dicts), or anywhere in a parsed expression (a Node)."""
    found: set[str] = set()
    todo = [value]
    while todo:
        v = todo.pop()
        if isinstance(v, dict):
            todo.extend(v.values())
        elif isinstance(v, list | tuple):
            todo.extend(v)
        elif isinstance(v, str) and "${" in v:
            todo.extend(p for p in _template(v) if isinstance(p, Path))
        elif isinstance(v, Path):
            if v.head == "steps" and v.keys and isinstance(v.keys[0], str):
                found.add(v.keys[0])
            todo.extend(k for k in (v.head, *v.keys) if not isinstance(k, str | int))
        elif isinstance(v, ListOf | Call):
            todo.extend(v.items if isinstance(v, ListOf) else v.args)
        elif isinstance(v, Unary):
            todo.append(v.operand)
        elif isinstance(v, Chain):
            todo.extend([v.first, *(x for _, x in v.rest)])
    return found


# --- expressions: parser ---------------------------------------------------------------

_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=", "in", "not")
_LEVELS = (("or",), ("and",), _COMPARISONS, ("+", "-"), ("*", "/", "%"))
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
            raise ExpressionError(f"unexpected {text[i]!r} at {i} in {_quote(text)}")
        kind, raw, at = m.lastgroup, m.group(), i
        i = m.end()
        if kind == "num":
            value: Any = int(raw) if raw.isdigit() else float(raw)
            if value == math.inf:
                raise ExpressionError(f"number too large at {at} in {_quote(text)}")
        elif kind == "str":
            value = _unescape(raw, at, text)
        elif kind == "ref":
            value, i = _read_ref(text, at)
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
            raise ExpressionError(f"unknown escape at {at + 1 + m.start()} in {_quote(text)}")
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
        return ExpressionError(f"{why} at {self.toks[self.pos][2]} in {_quote(self.text)}")

    def peek(self, *ops: str) -> bool:
        kind, value, _ = self.toks[self.pos]
        return kind == "op" and value in ops

    def take(self, op: str) -> None:
        if not self.peek(op):
            raise self.fail(f"expected {op!r}")
        self.pos += 1

    def nested(self, parse: Any) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested deeper than {MAX_DEPTH}")
        node: Node = parse()
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


# --- expressions: evaluation -------------------------------------------------------------


def evaluate(expression: str, scope: Scope) -> Any:
    """The value of `expression` over `scope`; only ExpressionError escapes."""
    try:
        return _evaluate(parse(expression), scope)
    except RecursionError:  # deeply nested data compared or copied, not the expression
        raise ExpressionError(f"value too deeply nested in {_quote(expression)}") from None


def truthy(value: Any) -> bool:
    """Whether a condition holds: Python truthiness (null, false, 0, "", [], {} do not)."""
    return bool(value)


def _kind(v: Any) -> str:
    if v is None or isinstance(v, bool):
        return "null" if v is None else "boolean"
    if isinstance(v, int | float):
        return "number"
    names: dict[type, str] = {str: "string", list: "list", dict: "object"}
    return names.get(type(v)) or type(v).__name__


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, unlike Python's."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b) and (_number(a) == _number(b))


def _member(a: Any, b: Any, op: str) -> bool:
    if isinstance(b, str) and isinstance(a, str):
        return a in b
    if isinstance(b, list):
        return any(_same(a, x) for x in b)
    if isinstance(b, dict):
        return isinstance(a, str) and a in b
    raise ExpressionError(f"cannot apply {op!r} to {_kind(a)} and {_kind(b)}")


def _get(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        return value.get(key) if isinstance(key, str) else None
    if isinstance(value, list):
        if isinstance(key, str) and key.isascii() and key.isdigit():
            key = int(key)
        if isinstance(key, int) and -len(value) <= key < len(value):
            return value[key]
    return None


def _resolve(path: Path, scope: Scope) -> Any:
    if isinstance(path.head, str):
        if path.head not in scope:
            raise ExpressionError(f"unknown name {path.head!r} in {path.text}")
        value = scope[path.head]
    else:
        value = _evaluate(path.head, scope)
    for n, key in enumerate(path.keys):
        if not isinstance(key, str | int):
            key = _evaluate(key, scope)
        if isinstance(key, bool) or not isinstance(key, str | int):
            raise ExpressionError(f"cannot index with a {_kind(key)} in {path.text}")
        if n == 0 and path.head == "steps" and not (isinstance(value, Mapping) and key in value):
            hint = "" if path.text.startswith("$") else " (a key with `-` needs ${steps.<key>})"
            raise ExpressionError(f"unknown step {key!r} in {path.text}{hint}")
        value = _get(value, key)
    return value


_OPERATORS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}


def _binary(op: str, a: Any, b: Any) -> Any:
    if op == "==":
        return _same(a, b)
    if op == "!=":
        return not _same(a, b)
    if op in ("in", "not in"):
        return _member(a, b, op) == (op == "in")
    numbers = _number(a) and _number(b)
    if op in ("<", "<=", ">", ">=") and (numbers or (isinstance(a, str) and isinstance(b, str))):
        return _OPERATORS[op](a, b)
    if numbers or (op == "+" and type(a) is type(b) and isinstance(a, str | list)):
        if op in ("/", "%") and b == 0:
            raise ExpressionError(f"division by zero ({op})")
        try:
            value = _OPERATORS[op](a, b)
        except OverflowError:  # a huge int meeting a float
            value = math.inf
        if isinstance(value, float) and not math.isfinite(value):
            raise ExpressionError(f"number too large ({op})")
        return value
    raise ExpressionError(f"cannot apply {op!r} to {_kind(a)} and {_kind(b)}")


def _evaluate(node: Node, scope: Scope) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Path):
        return _resolve(node, scope)
    if isinstance(node, ListOf):
        return [_evaluate(x, scope) for x in node.items]
    if isinstance(node, Unary):
        v = _evaluate(node.operand, scope)
        if node.op == "not":
            return not truthy(v)
        if not _number(v):
            raise ExpressionError(f"cannot apply unary {node.op!r} to {_kind(v)}")
        return -v if node.op == "-" else v
    if isinstance(node, Call):
        return _call(node, scope)
    value = _evaluate(node.first, scope)
    if node.rest[0][0] in ("and", "or"):
        for op, x in node.rest:
            if truthy(value) == (op == "or"):
                return value  # Python's short circuit: `inputs.name or 'anonymous'`
            value = _evaluate(x, scope)
        return value
    if node.rest[0][0] in _COMPARISONS:  # chained like Python: a < b < c is a < b and b < c
        for op, x in node.rest:
            right = _evaluate(x, scope)
            if not _binary(op, value, right):
                return False
            value = right
        return True
    for op, x in node.rest:
        value = _binary(op, value, _evaluate(x, scope))
    return value


def _call(node: Call, scope: Scope) -> Any:
    if node.name == "exists":
        try:
            return _evaluate(node.args[0], scope) is not None
        except ExpressionError:  # an unknown step or name does not exist either
            return False
    args = [_evaluate(x, scope) for x in node.args]
    if node.name == "len" and isinstance(args[0], str | list | dict):
        return len(args[0])
    if node.name in ("lower", "upper") and isinstance(args[0], str):
        return args[0].lower() if node.name == "lower" else args[0].upper()
    if node.name == "contains":
        return _member(args[1], args[0], "contains")
    if node.name == "startswith" and all(isinstance(a, str) for a in args):
        return bool(args[0].startswith(args[1]))
    kinds = ", ".join(_kind(a) for a in args)
    raise ExpressionError(f"{node.name}() cannot take ({kinds})")
