"""Drafting a plan from discovery's requirements: the prompt, the schema the model answers
against, and the answer read and repaired into a plan body.

`body_of` is total: any text gives a `Drafted` body or raises `DraftInvalid(reason)`, never
another error. Repairs are what a model gets wrong often and a reader can fix without
guessing: a missing or duplicate key, a missing name, a block under the wrong kind, a
dependency on a step that does not exist. What is a judgement (a cycle, a dangling branch of
a condition, an unknown tool) is left for validation to report as the draft's issues: the
draft is an ordinary version a user edits.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, ValidationError

from agentsuite_contracts.common import JsonObject
from agentsuite_contracts.discovery import Requirements
from agentsuite_contracts.envelope import Contract
from agentsuite_contracts.llm import ChatMessage, Role
from agentsuite_contracts.planning import Budget, PlanPhase, PlanStep, Requirement, StepKind
from agentsuite_kit.answers import AnswerError, answer_object
from agentsuite_kit.storable import escape_text, escaped

MAX_ANSWER_BYTES = 256 * 1024
MAX_PROMPT_CHARS = 24_000  # of the user message, whatever the requirements hold
MAX_SHOWN = 400  # characters of one finding's value shown
MAX_NAME = 200
MAX_KEY = 64
MAX_STEPS = 1_000
MAX_PHASES = 100
MAX_REPAIRS = 50  # notes kept; the count says how many more
MAX_REASON = 2_000
KINDS = [k.value for k in StepKind]
_KEY_BAD = re.compile(r"[^a-z0-9_-]+")


class PlanBody(Contract):
    """What the model writes: a plan without its id, version and requirements (those come
    from the plan and the session, not from the model)."""

    name: str = Field(description="Display name of the plan.")
    goal: str = Field(description="What the plan achieves.")
    inputs_schema: JsonObject = Field(
        default_factory=dict, description="JSON Schema of the inputs a run takes."
    )
    phases: list[PlanPhase] = Field(description="Phases in order, each with its steps.")
    budget: Budget | None = Field(default=None, description="Limits per run.")


BODY_SCHEMA: dict[str, Any] = PlanBody.model_json_schema()


class DraftInvalid(ValueError):
    """The answer cannot be made a plan; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = escape_text(reason)[:MAX_REASON]


@dataclass(frozen=True)
class Drafted:
    body: PlanBody
    repairs: list[str] = field(default_factory=list)


# --- the prompt ---------------------------------------------------------------------------

INSTRUCTIONS = """You design agent workflows. From the requirements below, write one plan as \
a JSON object matching the given schema: phases in order, each with steps. A step has a \
unique lowercase `key`, a `name`, a `kind` (one of: {kinds}) and exactly the block named \
like its kind (a `tool` step has `tool`, an `llm` step has `llm`, ...). `depends_on` lists \
keys of steps that must finish first; the steps form a DAG (no cycles). `serves` lists the \
requirement keys a step serves. Reference inputs as `${{inputs.x}}` and outputs of earlier \
steps as `${{steps.<key>.output}}`. Prefer the catalog tools and agents listed. Answer with \
the JSON object only."""


def _show(value: Any, limit: int = MAX_SHOWN) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = escape_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def requirement_lines(requirements: Requirements) -> list[str]:
    lines = [f"Objective: {_show(requirements.objective, 200)}"]
    if requirements.goal:
        lines.append(f"Goal: {_show(requirements.goal, 2_000)}")
    lines.append("Requirements (key: title = value):")
    for f in requirements.findings:
        if f.value is None:
            continue
        lines.append(f"- {_show(f.obligation, 200)}: {_show(f.title, 200)} = {_show(f.value)}")
    if requirements.gaps:
        gaps = ", ".join(_show(g.obligation, 200) for g in requirements.gaps)
        lines.append(f"Not settled (keep the plan open there): {gaps}")
    if requirements.candidates:
        lines.append("Catalog tools and agents:")
        for c in requirements.candidates:
            lines.append(f"- {c.kind} {_show(c.name, 200)}: {_show(c.description, 300)}")
    return lines


def prompt(requirements: Requirements, *, max_chars: int = MAX_PROMPT_CHARS) -> list[ChatMessage]:
    """The messages asking for a plan; the user message is at most `max_chars` characters
    however many findings the requirements hold (lines past it are counted, not shown)."""
    kept: list[str] = []
    size = 0
    lines = requirement_lines(requirements)
    for n, line in enumerate(lines):
        more = f"({len(lines) - n} more lines left out)"
        if size + len(line) + 1 + len(more) > max_chars:
            kept.append(more)
            break
        kept.append(line)
        size += len(line) + 1
    system = INSTRUCTIONS.format(kinds=", ".join(KINDS))
    return [
        ChatMessage(role=Role.SYSTEM, content=system),
        ChatMessage(role=Role.USER, content="\n".join(kept)[:max_chars]),
    ]


def requirements_of(session_id: Any, requirements: Requirements) -> list[Requirement]:
    """The plan's requirements: every finding with a value, citing its extraction."""
    return [
        Requirement(
            key=f.obligation,
            title=f.title,
            session_id=session_id,
            extraction_id=f.extraction_id,
            value=f.value,
        )
        for f in requirements.findings
        if f.value is not None
    ]


# --- the answer ---------------------------------------------------------------------------


def document_of(text: Any) -> dict[str, Any]:
    """The answer as a JSON object; DraftInvalid otherwise."""
    try:
        document = answer_object(text, max_bytes=MAX_ANSWER_BYTES)
    except AnswerError as bad:
        raise DraftInvalid(str(bad)) from None
    # every string the model wrote (prompts, inputs, references) is kept, so each must be one
    # jsonb can hold; a reference spelled with a NUL then names no step and validation says so
    fixed: dict[str, Any] = escaped(document)
    return fixed


def body_of(text: Any, *, default_name: str = "Drafted plan", default_goal: str = "") -> Drafted:
    """The model's answer read and repaired; DraftInvalid(reason), never another error."""
    try:
        return repair(document_of(text), default_name=default_name, default_goal=default_goal)
    except DraftInvalid:
        raise
    except RecursionError:
        raise DraftInvalid("nested deeper than a plan goes") from None
    except (ValueError, TypeError) as bad:  # a shape repair did not foresee
        raise DraftInvalid(f"unusable plan: {str(bad)[:300]}") from None


def key_of(raw: Any, fallback: str) -> str:
    text = raw if isinstance(raw, str) else ""
    key = _KEY_BAD.sub("-", text.strip().lower()).strip("-_")[:MAX_KEY]
    return key or fallback


def _text(raw: Any, fallback: str, limit: int = MAX_NAME) -> str:
    if isinstance(raw, str) and raw.strip():
        return escape_text(raw.strip())[:limit]
    return fallback


class _Repairs:
    def __init__(self) -> None:
        self.notes: list[str] = []
        self.count = 0

    def add(self, note: str) -> None:
        self.count += 1
        if len(self.notes) < MAX_REPAIRS:
            self.notes.append(escape_text(note)[:300])

    def done(self) -> list[str]:
        if self.count > len(self.notes):
            return [*self.notes, f"{self.count - len(self.notes)} more repairs"]
        return self.notes


def _unique(key: str, taken: set[str]) -> str:
    if key not in taken:
        return key
    n = 2
    while f"{key[: MAX_KEY - 6]}-{n}" in taken:
        n += 1
    return f"{key[: MAX_KEY - 6]}-{n}"


def _kind(raw: dict[str, Any], key: str, notes: _Repairs) -> str | None:
    """The step's kind, matched to the one block it has; None when nothing fits."""
    blocks = [k for k in KINDS if isinstance(raw.get(k), dict)]
    kind = raw.get("kind")
    if kind in KINDS and kind in blocks:
        return str(kind)
    if len(blocks) == 1:
        notes.add(f"step {key}: kind {str(kind)[:40]!r} set to {blocks[0]!r}, its block")
        return blocks[0]
    return None


def _strings(raw: Any) -> list[str]:
    return [x for x in raw if isinstance(x, str)] if isinstance(raw, list) else []


def _step(
    raw: Any, n: int, taken: set[str], renames: dict[str, str], notes: _Repairs
) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        notes.add(f"step {n}: not an object, dropped")
        return None
    key = key_of(raw.get("key"), "") or key_of(raw.get("name"), f"step-{n + 1}")
    if key != raw.get("key"):
        notes.add(f"step {n}: key {str(raw.get('key'))[:40]!r} made {key!r}")
    unique = _unique(key, taken)
    if unique != key:
        notes.add(f"step {key}: duplicate key renamed {unique!r}")
    kind = _kind(raw, unique, notes)
    if kind is None:
        notes.add(f"step {unique}: no block matching a kind, dropped")
        return None
    step = {k: v for k, v in raw.items() if k not in KINDS or k == kind}
    step.update(key=unique, kind=kind, name=_text(raw.get("name"), unique))
    step["depends_on"] = _strings(raw.get("depends_on"))
    step["serves"] = _strings(raw.get("serves"))
    try:
        checked = PlanStep.model_validate(step).model_dump(mode="json")
    except ValidationError as bad:
        notes.add(f"step {unique}: unusable ({_first_error(bad)}), dropped")
        return None
    taken.add(unique)
    original = raw.get("key")
    if isinstance(original, str) and original != unique:
        # what other steps call it by: the first step of a key keeps its references
        renames.setdefault(original, unique)
    return checked


def _first_error(bad: ValidationError) -> str:
    first = bad.errors()[0] if bad.errors() else {"loc": (), "msg": "invalid"}
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first.get('msg', 'invalid')}"[:200]


def _phases(
    phases_raw: list[Any], renames: dict[str, str], notes: _Repairs
) -> tuple[list[dict[str, Any]], set[str]]:
    """The phases with their usable steps, and every step key kept."""
    if len(phases_raw) > MAX_PHASES:
        raise DraftInvalid(f"more than {MAX_PHASES} phases")
    phases: list[dict[str, Any]] = []
    taken: set[str] = set()
    phase_keys: set[str] = set()
    total = 0
    for p, raw in enumerate(phases_raw):
        if not isinstance(raw, dict):
            notes.add(f"phase {p}: not an object, dropped")
            continue
        key = _unique(key_of(raw.get("key"), f"phase-{p + 1}"), phase_keys)
        phase_keys.add(key)
        steps: list[dict[str, Any]] = []
        for raw_step in _list(raw.get("steps")):
            if total >= MAX_STEPS:
                raise DraftInvalid(f"more than {MAX_STEPS} steps")
            step = _step(raw_step, total, taken, renames, notes)
            total += 1
            if step is not None:
                steps.append(step)
        description = raw.get("description")
        phases.append(
            {
                "key": key,
                "name": _text(raw.get("name"), key),
                "description": description if isinstance(description, str) else "",
                "steps": steps,
            }
        )
    return phases, taken


def _known_dependencies(
    phases: list[dict[str, Any]], taken: set[str], renames: dict[str, str], notes: _Repairs
) -> None:
    for phase in phases:
        for step in phase["steps"]:
            named = (d if d in taken else renames.get(d, d) for d in step["depends_on"])
            kept = [d for d in dict.fromkeys(named) if d in taken and d != step["key"]]
            if kept != step["depends_on"]:
                notes.add(f"step {step['key']}: unknown dependencies dropped")
                step["depends_on"] = kept


def repair(document: dict[str, Any], *, default_name: str, default_goal: str) -> Drafted:
    """A JSON object made a plan body, each repair noted."""
    notes = _Repairs()
    phases_raw = document.get("phases")
    if not isinstance(phases_raw, list):
        steps_raw = document.get("steps")
        if not isinstance(steps_raw, list):
            raise DraftInvalid("no 'phases' list")
        notes.add("steps without phases put in one phase")
        phases_raw = [{"key": "main", "name": "Main", "steps": steps_raw}]
    renames: dict[str, str] = {}
    phases, taken = _phases(phases_raw, renames, notes)
    if not taken:
        raise DraftInvalid("no usable step")
    _known_dependencies(phases, taken, renames, notes)
    inputs = document.get("inputs_schema")
    budget = document.get("budget")
    body = {
        "name": _text(document.get("name"), default_name),
        "goal": _text(document.get("goal"), default_goal, 4_000),
        "inputs_schema": inputs if isinstance(inputs, dict) else {},
        "phases": phases,
        "budget": budget if isinstance(budget, dict) else None,
    }
    try:
        checked = PlanBody.model_validate(body)
    except ValidationError:
        body["budget"] = None
        notes.add("budget unusable, dropped")
        try:
            checked = PlanBody.model_validate(body)
        except ValidationError as bad:
            raise DraftInvalid(f"unusable plan: {_first_error(bad)}") from None
    return Drafted(checked, notes.done())


def _list(raw: Any) -> list[Any]:
    return raw if isinstance(raw, list) else []
