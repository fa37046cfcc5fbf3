"""A session's knowledge: each obligation's current value and confidence, how extractions
change it, which question comes next, and when the gate is met.

Every proposed extraction yields exactly one `Applied` record (applied or rejected with the
reason): history is kept by the caller, this module only says what each one does. A rejected
extraction never changes the state.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from agentsuite_contracts.discovery import (
    Candidate,
    ExtractionKind,
    Finding,
    Gap,
    ObligationStatus,
    Relation,
    Requirements,
)
from agentsuite_discovery.domain.objectives import Objective, Obligation, Question
from agentsuite_discovery.domain.values import invalid, same
from agentsuite_kit.expressions import ExpressionError, evaluate, truthy

EPSILON = 1e-9  # 1 - (1 - 0.5)(1 - 0.6) must meet 0.8
# the bytes (as JSON) a session's current values may take together: the requirements
# document carries them all in one `discovery.session.completed` event (1 MB at most), with
# up to 100 findings' titles, the gaps and the candidates beside them
MAX_VALUES_BYTES = 600_000
MAX_GOAL_CHARS = 4_000  # the document's `goal` repeats the goal's value: a summary of it
PENDING, PARTIAL = ObligationStatus.PENDING, ObligationStatus.PARTIAL
SATISFIED, CONTESTED = ObligationStatus.SATISFIED, ObligationStatus.CONTESTED


@dataclass(frozen=True, slots=True)
class ObligationState:
    """An obligation's current value. While `contested_by` is set, a contradicting value
    (`contested_value`, at `contested_confidence`) waits for the user to settle it."""

    key: str
    status: ObligationStatus = PENDING
    confidence: float = 0.0
    value: Any = None
    extraction_id: UUID | None = None
    contested_by: UUID | None = None
    contested_value: Any = None
    contested_confidence: float = 0.0


State = dict[str, ObligationState]


@dataclass(frozen=True, slots=True)
class Proposed:
    """A value the model (or a prefill) proposes. `problem` says why an item of the
    model's answer was malformed: apply() records it as rejected with that reason."""

    obligation: str
    value: Any
    kind: ExtractionKind = ExtractionKind.INFERENCE
    confidence: float = 0.0
    relation: Relation | None = None
    supersedes: UUID | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    extraction_id: UUID
    proposed: Proposed
    relation: Relation
    supersedes: UUID | None
    applied: bool
    reason: str | None = None


def initial(objective: Objective) -> State:
    return {o.key: ObligationState(o.key) for o in objective.obligations}


def status_of(obligation: Obligation, state: ObligationState) -> ObligationStatus:
    if state.contested_by is not None:
        return CONTESTED
    if state.extraction_id is None:
        return PENDING
    return SATISFIED if state.confidence + EPSILON >= obligation.confidence else PARTIAL


def _confirmed(a: float, b: float) -> float:
    return min(1.0, max(0.0, 1 - (1 - a) * (1 - b)))


def _rejection(
    obligation: Obligation | None, cur: ObligationState | None, p: Proposed
) -> str | None:
    if p.problem is not None:
        return f"invalid_extraction: {p.problem}"
    if obligation is None or cur is None:
        return "unknown_obligation"
    if (
        isinstance(p.confidence, bool)
        or not isinstance(p.confidence, int | float)
        or not math.isfinite(p.confidence)
        or not 0 <= p.confidence <= 1
    ):
        return "invalid_extraction: confidence is a number 0..1"
    if p.value is None:
        return "invalid_value: a value is not null"
    if obligation.validator is not None:
        problem = invalid(obligation.validator, p.value)
        if problem is not None:
            return f"invalid_value: {problem}"
    if p.supersedes is not None and p.supersedes not in (cur.extraction_id, cur.contested_by):
        return "unknown_supersedes"
    return None


def _relation(cur: ObligationState, p: Proposed) -> tuple[Relation, UUID | None, bool]:
    """The relation, what it supersedes, and whether it settles on the contesting value.
    The values decide; the model's word only tells a correction (revises) from a conflict."""
    if cur.extraction_id is None:
        return Relation.NEW, None, False
    if cur.contested_by is not None and same(p.value, cur.contested_value):
        return Relation.CONFIRMS, cur.contested_by, True
    if same(p.value, cur.value):
        return Relation.CONFIRMS, cur.extraction_id, False
    relation = Relation.REVISES if p.relation is Relation.REVISES else Relation.CONTRADICTS
    return relation, p.supersedes or cur.extraction_id, False


def _next(
    cur: ObligationState, p: Proposed, eid: UUID, rel: Relation, on_contest: bool
) -> ObligationState:
    if rel is Relation.CONTRADICTS:
        return replace(
            cur, contested_by=eid, contested_value=p.value, contested_confidence=p.confidence
        )
    settled = replace(cur, contested_by=None, contested_value=None, contested_confidence=0.0)
    if rel is Relation.CONFIRMS:
        base, value = (
            (cur.contested_confidence, cur.contested_value)
            if on_contest
            else (cur.confidence, cur.value)
        )
        return replace(
            settled, value=value, confidence=_confirmed(base, p.confidence), extraction_id=eid
        )
    return replace(settled, value=p.value, confidence=float(p.confidence), extraction_id=eid)


def apply(
    objective: Objective,
    state: Mapping[str, ObligationState],
    proposed: Sequence[Proposed],
    new_id: Callable[[], UUID],
) -> tuple[State, list[Applied]]:
    """The state after `proposed`, in order, and one record per proposed extraction."""
    after: State = dict(state)
    records: list[Applied] = []
    sizes = {k: value_bytes(st.value) for k, st in state.items()}
    total = sum(sizes.values())
    for p in proposed:
        eid = new_id()
        obligation = objective.by_key.get(p.obligation) if isinstance(p.obligation, str) else None
        cur = after.get(p.obligation) if obligation is not None else None
        if obligation is not None and cur is None:
            cur = ObligationState(obligation.key)
        reason = _rejection(obligation, cur, p)
        if reason is not None or obligation is None or cur is None:
            relation = p.relation if isinstance(p.relation, Relation) else Relation.NEW
            records.append(Applied(eid, p, relation, None, False, reason or "unknown_obligation"))
            continue
        relation, supersedes, on_contest = _relation(cur, p)
        nxt = _next(cur, p, eid, relation, on_contest)
        size = sizes.get(obligation.key, 0) if nxt.value is cur.value else value_bytes(nxt.value)
        grown = total - sizes.get(obligation.key, 0) + size
        if grown > MAX_VALUES_BYTES:
            reason = f"invalid_value: the session's values would pass {MAX_VALUES_BYTES} bytes"
            records.append(Applied(eid, p, relation, None, False, reason))
            continue
        total, sizes[obligation.key] = grown, size
        after[obligation.key] = replace(nxt, status=status_of(obligation, nxt))
        records.append(Applied(eid, p, relation, supersedes, True))
    return after, records


def value_bytes(value: Any) -> int:
    """Bytes of `value` as the event's JSON spells it (UTF-8, unescaped)."""
    if value is None:
        return 0
    return len(json.dumps(value, ensure_ascii=False, default=str).encode())


def _get(state: Mapping[str, ObligationState], key: str) -> ObligationState:
    return state.get(key) or ObligationState(key)


def answers(objective: Objective, state: Mapping[str, ObligationState]) -> dict[str, Any]:
    """The scope activation rules read: each obligation's current value or null."""
    return {o.key: _get(state, o.key).value for o in objective.obligations}


def askable(objective: Objective, state: Mapping[str, ObligationState]) -> list[Obligation]:
    """Obligations not satisfied whose dependencies are, in the order they are asked:
    contested first, then required before optional, then lowest confidence, then the
    objective's order."""
    found = []
    for n, o in enumerate(objective.obligations):
        s = _get(state, o.key)
        if s.status is SATISFIED:
            continue
        if all(_get(state, d).status is SATISFIED for d in o.depends_on):
            found.append((s.status is not CONTESTED, not o.required, s.confidence, n, o))
    return [x[-1] for x in sorted(found, key=lambda x: x[:4])]


def _holds(rule: str | None, scope: Mapping[str, Any]) -> bool:
    if rule is None:
        return True
    try:
        return truthy(evaluate(rule, scope))
    except ExpressionError:  # a rule over an answer of another shape does not hold
        return False


def _show(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def generated(obligation: Obligation, state: ObligationState) -> Question:
    """A question made from the obligation itself, when no pool question applies."""
    if state.status is CONTESTED:
        other = state.contested_value
        text = (
            f"I have two different answers for {obligation.title.lower()}: "
            f"{_show(state.value)!r} and {'another' if other is None else repr(_show(other))}. "
            "Which is right?"
        )
    elif state.status is PARTIAL:
        text = f"To be sure about {obligation.title.lower()}: is it {_show(state.value)!r}?"
        if obligation.description:
            text += f" ({obligation.description})"
    else:
        text = f"{obligation.title}: {obligation.description}".rstrip(": ")
        text = text if text.endswith("?") else text + "?"
    return Question(f"{obligation.key}:generated", text, None, obligation.key, "generated")


def next_question(
    objective: Objective, state: Mapping[str, ObligationState], asked: Collection[str]
) -> Question | None:
    """What the agent asks next (None: nothing is askable). A contested obligation gets
    the clarifying question; otherwise its first active pool question not asked yet."""
    candidates = askable(objective, state)
    if not candidates:
        return None
    obligation = candidates[0]
    current = _get(state, obligation.key)
    if current.status is not CONTESTED:
        scope = {"answers": answers(objective, state)}
        for q in obligation.questions:
            if q.key not in asked and _holds(q.when, scope):
                return q
    return generated(obligation, current)


def gaps(objective: Objective, state: Mapping[str, ObligationState]) -> list[Gap]:
    """The required obligations below their confidence, in the objective's order."""
    return [
        Gap(
            obligation=o.key,
            status=s.status,
            confidence=s.confidence,
            required_confidence=o.confidence,
        )
        for o in objective.obligations
        if o.required and (s := _get(state, o.key)).status is not SATISFIED
    ]


def met(objective: Objective, state: Mapping[str, ObligationState]) -> bool:
    return not gaps(objective, state)


def _kind_of(record: Any) -> ExtractionKind | None:
    """An extraction's kind from what the caller keeps of it (a kind, an Applied, a row)."""
    if isinstance(record, Applied):
        record = record.proposed.kind
    elif isinstance(record, Mapping):
        record = record.get("kind")
    elif hasattr(record, "kind"):
        record = record.kind
    try:
        return ExtractionKind(record) if record is not None else None
    except ValueError:
        return None


def as_text(value: Any) -> str:
    """A value as a person reads it: text as is, a list of texts one after another, other
    JSON as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "; ".join(value)
    try:
        return json.dumps(value, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        return repr(value)


def goal_text(objective: Objective, state: Mapping[str, ObligationState]) -> str | None:
    """The goal's value as text: the `goal` obligation's, else the first of kind goal."""
    keys = [o.key for o in objective.obligations if o.key == "goal"]
    keys += [o.key for o in objective.obligations if o.kind.value == "goal" and o.key != "goal"]
    for key in keys:
        value = _get(state, key).value
        if value is not None:
            return as_text(value)[:MAX_GOAL_CHARS]
    return None


def requirements(
    objective: Objective,
    state: Mapping[str, ObligationState],
    extractions_by_id: Mapping[UUID, Any],
    candidates: Sequence[Candidate],
    forced: bool,
    reason: str | None,
) -> Requirements:
    """The requirements document planning drafts from."""
    findings = []
    for o in objective.obligations:
        s = _get(state, o.key)
        findings.append(
            Finding(
                obligation=o.key,
                title=o.title,
                kind=o.kind,
                required=o.required,
                status=s.status,
                value=s.value,
                confidence=s.confidence,
                required_confidence=o.confidence,
                extraction_id=s.extraction_id,
                extraction_kind=_kind_of(extractions_by_id.get(s.extraction_id))
                if s.extraction_id is not None
                else None,
            )
        )
    required = [o for o in objective.obligations if o.required]
    done = sum(1 for o in required if _get(state, o.key).status is SATISFIED)
    return Requirements(
        objective=objective.key,
        objective_version=objective.version,
        goal=goal_text(objective, state),
        findings=findings,
        gaps=gaps(objective, state),
        candidates=list(candidates),
        completeness=done / len(required) if required else 1.0,
        forced=forced,
        forced_reason=reason if forced else None,
    )
