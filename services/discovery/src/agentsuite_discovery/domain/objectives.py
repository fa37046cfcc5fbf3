"""Objectives: a named, versioned set of obligations (what must be known before planning),
the checks a tenant's definition passes, and the built-in `default` objective.

An objective is immutable per version; `objective_of` is the only way in from JSON, so a
stored definition and a new one obey the same rules, and `body_of` is its inverse.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from agentsuite_contracts.discovery import ObligationKind
from agentsuite_discovery.domain.default_objective import BODY
from agentsuite_kit.errors import Invalid
from agentsuite_kit.expressions import ExpressionError, parse, paths
from agentsuite_kit.expressions.syntax import Node
from agentsuite_kit.schemas import check_schema, nodes

KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
RESERVED = frozenset({"default"})  # built in: a tenant cannot define it
MAX_OBLIGATIONS = 100
MAX_QUESTIONS = 20
MAX_DEPENDENCIES = 64
MAX_TEXT = 2_000
MAX_TITLE = 200
DEFAULT_CONFIDENCE = 0.8
BODY_FIELDS = frozenset({"key", "title", "description", "obligations"})
OBLIGATION_FIELDS = frozenset(
    {"key", "title", "description", "kind", "required", "confidence", "validator"}
    | {"depends_on", "questions"}
)
QUESTION_FIELDS = frozenset({"key", "text", "when"})


@dataclass(frozen=True, slots=True)
class Question:
    """A question the agent may ask. `when` (an expression over `answers`) gates a pool
    question; `obligation` and `source` say whose it is and where it came from."""

    key: str
    text: str
    when: str | None = None
    obligation: str = ""
    source: Literal["pool", "generated"] = "pool"


@dataclass(frozen=True, slots=True)
class Obligation:
    key: str
    title: str
    description: str = ""
    kind: ObligationKind = ObligationKind.OTHER
    required: bool = True
    confidence: float = DEFAULT_CONFIDENCE  # what the gate asks for, 0..1
    validator: dict[str, Any] | None = None  # checked JSON Schema of the value
    depends_on: tuple[str, ...] = ()
    questions: tuple[Question, ...] = ()


@dataclass(frozen=True, slots=True)
class Objective:
    key: str
    version: int
    title: str
    description: str
    obligations: tuple[Obligation, ...]
    by_key: Mapping[str, Obligation] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_key", {o.key: o for o in self.obligations})


def check_key(key: Any, field: str = "key") -> str:
    """`key` if it may name a tenant's objective (the pattern, not a built-in's name)."""
    _key(key, field)
    if key in RESERVED:
        raise Invalid("key_reserved", f"{key!r} is a built-in objective", field=field)
    return str(key)


def _key(key: Any, field: str) -> str:
    if not isinstance(key, str) or not KEY.match(key):
        raise Invalid(
            "key_invalid",
            "a key is 1-63 characters: lowercase letters, digits and _, starting with a letter",
            field=field,
        )
    return key


def _clean(text: str, field: str) -> str:
    """Text PostgreSQL and JSON can store: no NUL, no unpaired surrogate."""
    if "\x00" in text:
        raise Invalid("text_invalid", "text may not contain NUL characters", field=field)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid("text_invalid", "text has an unpaired surrogate", field=field) from None
    return text


def _text(value: Any, field: str, limit: int, *, blank: bool = False) -> str:
    if not isinstance(value, str):
        raise Invalid("text_invalid", "a string is expected here", field=field)
    if not blank and not value.strip():
        raise Invalid("text_blank", "this may not be blank", field=field)
    if len(value) > limit:
        raise Invalid("text_too_long", f"at most {limit} characters", field=field)
    return _clean(value, field)


def _fields(body: Any, allowed: frozenset[str], field: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise Invalid("not_an_object", "an object is expected here", field=field or None)
    for name in body:
        if name not in allowed:
            where = f"{field}.{name}" if field else str(name)
            raise Invalid("unknown_field", f"unknown field {str(name)[:100]!r}", field=where)
    return body


def _list(value: Any, field: str, limit: int, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid("not_a_list", "a list is expected here", field=field)
    if len(value) > limit:
        raise Invalid(f"too_many_{what}", f"at most {limit} {what}", field=field)
    return value


def objective_of(key: str, version: int, body: Mapping[str, Any]) -> Objective:
    """The objective `body` defines, checked; Invalid names the first problem and where."""
    _key(key, "key")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version < 2**31:
        raise Invalid("version_invalid", "a version is an integer from 1", field="version")
    _fields(body, BODY_FIELDS, "")
    if "key" in body and body["key"] != key:
        raise Invalid("key_mismatch", "the body names another objective", field="key")
    title = _text(body.get("title"), "title", MAX_TITLE)
    description = _text(body.get("description", ""), "description", MAX_TEXT, blank=True)
    raw = _list(body.get("obligations"), "obligations", MAX_OBLIGATIONS, "obligations")
    if not raw:
        raise Invalid("obligations_empty", "an objective has obligations", field="obligations")
    obligations = [_obligation(o, f"obligations[{i}]") for i, o in enumerate(raw)]
    _check_graph(obligations)
    return Objective(key, version, title, description, tuple(obligations))


def _confidence(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise Invalid("confidence_invalid", "a confidence is a number 0..1", field=field)
    if not 0 <= value <= 1:
        raise Invalid("confidence_invalid", "a confidence is a number 0..1", field=field)
    return float(value)


def _obligation(raw: Any, at: str) -> Obligation:
    body = _fields(raw, OBLIGATION_FIELDS, at)
    key = _key(body.get("key"), f"{at}.key")
    kind = body.get("kind", ObligationKind.OTHER.value)
    if not isinstance(kind, str) or kind not in {k.value for k in ObligationKind}:
        raise Invalid("kind_invalid", "unknown obligation kind", field=f"{at}.kind")
    required = body.get("required", True)
    if not isinstance(required, bool):
        raise Invalid("required_invalid", "required is true or false", field=f"{at}.required")
    validator = body.get("validator")
    if validator is not None:
        for node in nodes(validator):
            if isinstance(node, str):
                _clean(node, f"{at}.validator")
            elif isinstance(node, dict):
                for name in node:
                    _clean(str(name), f"{at}.validator")
        validator = _checked(validator, f"{at}.validator")
    depends = _list(body.get("depends_on"), f"{at}.depends_on", MAX_DEPENDENCIES, "dependencies")
    for i, dep in enumerate(depends):
        _key(dep, f"{at}.depends_on[{i}]")
    raw_questions = _list(body.get("questions"), f"{at}.questions", MAX_QUESTIONS, "questions")
    questions = [_question(q, key, f"{at}.questions[{i}]") for i, q in enumerate(raw_questions)]
    return Obligation(
        key=key,
        title=_text(body.get("title"), f"{at}.title", MAX_TITLE),
        description=_text(body.get("description", ""), f"{at}.description", MAX_TEXT, blank=True),
        kind=ObligationKind(kind),
        required=required,
        confidence=_confidence(body.get("confidence", DEFAULT_CONFIDENCE), f"{at}.confidence"),
        validator=validator,
        depends_on=tuple(depends),
        questions=tuple(questions),
    )


# digests of validators check_schema accepted: a stored objective is read again on every
# turn, and checking a schema against the Draft 2020-12 metaschema costs milliseconds
_CHECKED: dict[str, None] = {}
MAX_CHECKED = 1_024


def _checked(schema: Any, field: str) -> dict[str, Any]:
    try:
        text = json.dumps(schema, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        text = None  # not plain JSON: check_schema says why
    digest = None if text is None else hashlib.sha256(text.encode()).hexdigest()
    if digest is not None and digest in _CHECKED and isinstance(schema, dict):
        return schema
    try:
        checked = check_schema(schema, field)
    except Invalid as bad:
        raise Invalid("invalid_validator", f"{bad.code}: {bad.message}", field=field) from None
    if digest is not None:
        if len(_CHECKED) >= MAX_CHECKED:
            del _CHECKED[next(iter(_CHECKED))]
        _CHECKED[digest] = None
    return checked


def _question(raw: Any, obligation: str, at: str) -> Question:
    body = _fields(raw, QUESTION_FIELDS, at)
    key = _key(body.get("key"), f"{at}.key")
    text = _text(body.get("text"), f"{at}.text", MAX_TEXT)
    when = body.get("when")
    if when is not None:
        when = _text(when, f"{at}.when", MAX_TEXT)
        try:
            parse(when)
        except ExpressionError as bad:
            raise Invalid("invalid_rule", str(bad)[:300], field=f"{at}.when") from None
    return Question(key, text, when, obligation, "pool")


def answer_refs(node: Node) -> tuple[set[str], list[str]]:
    """The obligation keys `node` reads as `answers.<key>`, and the other names it reads."""
    keys: set[str] = set()
    other: list[str] = []
    for path in paths(node):
        if not isinstance(path.head, str):
            continue  # `(expr).x`: its head's own paths come from `paths` too
        first = path.keys[0] if path.keys else None
        if path.head == "answers" and isinstance(first, str):
            keys.add(first)
        else:
            other.append(path.text)
    return keys, other


def _check_graph(obligations: list[Obligation]) -> None:
    """Unique keys, known dependencies without a cycle, rules naming known obligations."""
    index = _unique(obligations)
    for i, o in enumerate(obligations):
        for j, dep in enumerate(o.depends_on):
            where = f"obligations[{i}].depends_on[{j}]"
            if dep == o.key:
                raise Invalid("dependency_cycle", "an obligation depends on itself", field=where)
            if dep not in index:
                raise Invalid("unknown_dependency", f"no obligation {dep!r}", field=where)
        for j, q in enumerate(o.questions):
            _check_rule(q, index, f"obligations[{i}].questions[{j}].when")
    _check_cycles(obligations, index)


def _unique(obligations: list[Obligation]) -> dict[str, int]:
    """Each obligation's index; obligation keys and question keys are unique (`asked`
    names a question by its key alone)."""
    index: dict[str, int] = {}
    questions: set[str] = set()
    for i, o in enumerate(obligations):
        if o.key in index:
            where = f"obligations[{i}].key"
            raise Invalid("duplicate_key", f"obligation {o.key!r} twice", field=where)
        index[o.key] = i
        for j, q in enumerate(o.questions):
            if q.key in questions:
                where = f"obligations[{i}].questions[{j}].key"
                raise Invalid("duplicate_key", f"question {q.key!r} twice", field=where)
            questions.add(q.key)
    return index


def _check_rule(question: Question, index: Mapping[str, int], where: str) -> None:
    if question.when is None:
        return
    keys, other = answer_refs(parse(question.when))
    if other:
        raise Invalid(
            "invalid_rule", f"a rule reads answers.<key> only, not {other[0]!r}", field=where
        )
    unknown = sorted(keys - index.keys())
    if unknown:
        raise Invalid("invalid_rule", f"no obligation {unknown[0]!r}", field=where)


def _check_cycles(obligations: list[Obligation], index: Mapping[str, int]) -> None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for o in obligations:
        if state.get(o.key):
            continue
        state[o.key] = 1
        stack = [(o.key, iter(o.depends_on))]
        while stack:
            key, deps = stack[-1]
            dep = next(deps, None)
            if dep is None:
                state[key] = 2
                stack.pop()
            elif state.get(dep) == 1:
                i = index[key]
                j = obligations[i].depends_on.index(dep)
                where = f"obligations[{i}].depends_on[{j}]"
                raise Invalid(
                    "dependency_cycle", f"{key!r} depends on itself via {dep!r}", field=where
                )
            elif not state.get(dep):
                state[dep] = 1
                stack.append((dep, iter(obligations[index[dep]].depends_on)))


def body_of(objective: Objective) -> dict[str, Any]:
    """The JSON `objective_of` reads back into the same objective."""
    return {
        "title": objective.title,
        "description": objective.description,
        "obligations": [
            {
                "key": o.key,
                "title": o.title,
                "description": o.description,
                "kind": o.kind.value,
                "required": o.required,
                "confidence": o.confidence,
                "validator": o.validator,
                "depends_on": list(o.depends_on),
                "questions": [{"key": q.key, "text": q.text, "when": q.when} for q in o.questions],
            }
            for o in objective.obligations
        ],
    }


DEFAULT = objective_of("default", 1, BODY)
