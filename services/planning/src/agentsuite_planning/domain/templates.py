"""Catalog templates: how well one fits a discovery session's requirements, and one
instantiated with parameters into a plan body.

Instantiation is one pass over the definition: `{{name}}` in a string is replaced by the
parameter's text, a string that is wholly one placeholder takes the parameter's JSON value.
A substituted value is never scanned again (no recursion: `{{a}}` whose value is `{{b}}`
stays `{{b}}`), and the size of the result is counted as it is built, so a parameter used
many times cannot blow the plan past `max_bytes`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agentsuite_contracts.catalog import TemplateSpec
from agentsuite_contracts.discovery import Requirements
from agentsuite_kit.errors import Invalid
from agentsuite_kit.schemas import check_schema, violations
from agentsuite_planning.domain.drafting import Drafted, DraftInvalid, repair

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]{0,63})\s*\}\}")
MAX_BYTES = 900_000  # the plan event's limit (validation's `too_large`)
THRESHOLD = 0.5
MAX_TERMS = 2_000  # distinct words taken from the requirements
_WORD = re.compile(r"[a-z0-9]{3,}")
# words every requirement and template says: matching them says nothing
STOP = frozenset(
    {"the", "and", "for", "with", "from", "that", "this", "into", "plan", "workflow", "template"}
)


def words(text: str, limit: int = 20_000) -> set[str]:
    return {w for w in _WORD.findall(text[:limit].lower()) if w not in STOP}


def requirement_terms(requirements: Requirements) -> set[str]:
    """The words of the goal, the objective and the findings (titles, text values)."""
    terms = words(requirements.objective) | words(requirements.goal or "")
    for f in requirements.findings:
        if len(terms) >= MAX_TERMS:
            break
        terms |= words(f.obligation) | words(f.title)
        if isinstance(f.value, str):
            terms |= words(f.value, 2_000)
        elif isinstance(f.value, list):
            terms |= words(" ".join(v for v in f.value[:50] if isinstance(v, str)), 2_000)
    return terms


def template_terms(spec: TemplateSpec) -> tuple[set[str], set[str]]:
    """(strong, weak): its kind and tags, and the words of its key and name."""
    strong = words(spec.kind or "") | {w for t in spec.tags for w in words(t)}
    weak = words(spec.key) | words(spec.name)
    return strong, weak - strong


def score(spec: TemplateSpec, terms: set[str]) -> float:
    """How well `spec` fits requirements with `terms`, 0..1: the share of its kind/tag
    words (weighted twice) and key/name words the requirements say."""
    strong, weak = template_terms(spec)
    total = 2 * len(strong) + len(weak)
    if total == 0:
        return 0.0
    return (2 * len(strong & terms) + len(weak & terms)) / total


@dataclass(frozen=True)
class Match:
    template_id: Any
    spec: TemplateSpec
    score: float


def best(
    templates: Iterable[tuple[Any, TemplateSpec]],
    requirements: Requirements,
    *,
    threshold: float = THRESHOLD,
) -> Match | None:
    """The best-scoring template at or over `threshold` (ties: the first key), or None."""
    terms = requirement_terms(requirements)
    found: Match | None = None
    for template_id, spec in templates:
        s = score(spec, terms)
        if s < threshold:
            continue
        if found is None or s > found.score or (s == found.score and spec.key < found.spec.key):
            found = Match(template_id, spec, s)
    return found


# --- instantiation ------------------------------------------------------------------------


def parameters_of(spec: TemplateSpec, given: Mapping[str, Any]) -> dict[str, Any]:
    """`given` with the schema's defaults, checked against `parameters_schema`; Invalid
    naming the parameter otherwise."""
    schema = check_schema(spec.parameters_schema or {}, "parameters_schema")
    values = dict(given)
    props = schema.get("properties")
    if isinstance(props, dict):
        for name, sub in props.items():
            if name not in values and isinstance(sub, dict) and "default" in sub:
                values[name] = sub["default"]
    found = violations(schema, values)
    if found:
        first = found[0]
        raise Invalid(
            "invalid_parameters",
            f"parameters{first.path[1:]}: {first.message}",
            field=f"parameters{first.path[1:]}",
        )
    return values


class _Size:
    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise Invalid(
                "too_large", "the instantiated plan is over the size limit", field="parameters"
            )


def _encoded(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _string(text: str, params: Mapping[str, Any], size: _Size) -> Any:
    whole = PLACEHOLDER.fullmatch(text)
    if whole is not None:
        value = _param(params, whole.group(1))
        size.spend(len(_encoded(value)))
        return value

    def one(m: re.Match[str]) -> str:
        value = _param(params, m.group(1))
        piece = value if isinstance(value, str) else _encoded(value)
        size.spend(len(piece))
        return piece

    size.spend(len(text))
    return PLACEHOLDER.sub(one, text)


def _param(params: Mapping[str, Any], name: str) -> Any:
    if name not in params:
        raise Invalid(
            "missing_parameter",
            f"the template uses {{{{{name}}}}} and no value was given",
            field=f"parameters.{name}",
        )
    return params[name]


def substitute(definition: Any, params: Mapping[str, Any], *, max_bytes: int = MAX_BYTES) -> Any:
    """`definition` with its placeholders replaced (iteratively: a deep one cannot exhaust
    the stack); Invalid `too_large` past `max_bytes` (counted in characters)."""
    size = _Size(max_bytes)
    root: list[Any] = [None]
    # (source, parent container, index or key in it)
    stack: list[tuple[Any, Any, Any]] = [(definition, root, 0)]
    while stack:
        value, parent, at = stack.pop()
        if isinstance(value, dict):
            copy: dict[str, Any] = {}
            parent[at] = copy
            for k, v in value.items():
                size.spend(len(k) + 4)
                copy[k] = None
                stack.append((v, copy, k))
        elif isinstance(value, list):
            items: list[Any] = [None] * len(value)
            parent[at] = items
            size.spend(2 + len(value))
            stack.extend((v, items, i) for i, v in enumerate(value))
        elif isinstance(value, str):
            parent[at] = _string(value, params, size)
        else:
            size.spend(len(_encoded(value)))
            parent[at] = value
    return root[0]


def instantiate(
    spec: TemplateSpec, given: Mapping[str, Any], *, max_bytes: int = MAX_BYTES
) -> Drafted:
    """The template's plan body with `given` parameters; Invalid naming what is wrong."""
    params = parameters_of(spec, given)
    document = substitute(spec.definition, params, max_bytes=max_bytes)
    if not isinstance(document, dict):
        raise Invalid("template_invalid", "the template's definition is not an object")
    try:
        return repair(document, default_name=spec.name, default_goal=spec.description)
    except DraftInvalid as bad:
        raise Invalid(
            "template_invalid", f"the instantiated template is no plan: {bad.reason}"
        ) from None
