"""Recording what the model (or a prefill) proposed: every extraction kept, applied or
rejected with the reason, the obligations it moved saved and announced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from agentsuite_contracts.discovery import ExtractionRecorded, Relation
from agentsuite_contracts.ids import uuid7
from agentsuite_discovery.domain.objectives import Objective
from agentsuite_discovery.domain.sessions import (
    MAX_VALUES_BYTES,
    Applied,
    Proposed,
    State,
    apply,
    value_bytes,
)
from agentsuite_discovery.handlers.common import changed, emit_changes
from agentsuite_discovery.uow import DiscoveryUow
from agentsuite_kit.storable import escape_text, unstorable

MAX_OBLIGATION = 200  # the column's width: a longer name is no obligation's anyway


def _unstorable(proposed: Proposed) -> Applied | None:
    """A value PostgreSQL cannot hold (NUL, a lone surrogate, NaN, too deep) is refused here,
    before the rules see it: recorded as rejected, never a failed transaction."""
    flaw = unstorable(proposed.value)
    if flaw is not None:
        where = f" at {flaw.path}" if flaw.path else ""
        reason = f"invalid_value: {flaw.reason}{where}"
    elif value_bytes(proposed.value) > MAX_VALUES_BYTES:
        # a prefill may be as large as a request: the event recording it could not carry it
        reason = f"invalid_value: larger than {MAX_VALUES_BYTES} bytes"
    else:
        return None
    return Applied(
        extraction_id=uuid7(),
        proposed=proposed,
        relation=proposed.relation or Relation.NEW,
        supersedes=None,
        applied=False,
        reason=reason,
    )


def _kept(value: Any) -> Any:
    """The value as recorded: one PostgreSQL or an event cannot hold is kept as null (the
    reason says what was wrong with it)."""
    if unstorable(value) is not None or value_bytes(value) > MAX_VALUES_BYTES:
        return None
    return value


def _row(turn_id: UUID | None, a: Applied) -> dict[str, Any]:
    p = a.proposed
    return {
        "id": a.extraction_id,
        "turn_id": turn_id,
        "obligation": escape_text(p.obligation)[:MAX_OBLIGATION],
        "value": _kept(p.value),
        "kind": p.kind.value,
        "confidence": p.confidence,
        "relation": a.relation.value,
        "supersedes": a.supersedes,
        "applied": a.applied,
        "reason": None if a.reason is None else escape_text(a.reason),
    }


async def record(
    uow: DiscoveryUow,
    session_id: UUID,
    turn_id: UUID | None,
    objective: Objective,
    state: State,
    proposed: Sequence[Proposed],
) -> State:
    """Apply `proposed` to `state` (the domain's rules), store and announce the outcome;
    the state after."""
    refused: list[Applied] = []
    fit: list[Proposed] = []
    for p in proposed:
        flawed = _unstorable(p)
        if flawed is None:
            fit.append(p)
        else:
            refused.append(flawed)
    after, applied = apply(objective, state, fit, uuid7)
    outcome = [*applied, *refused]
    rows = [_row(turn_id, a) for a in outcome]
    await uow.extractions.add(session_id, rows)
    for row in rows:
        uow.emit(
            ExtractionRecorded(
                session_id=session_id,
                extraction_id=row["id"],
                turn_id=turn_id,
                obligation=row["obligation"],
                value=row["value"],
                confidence=row["confidence"],
                kind=row["kind"],
                relation=row["relation"],
                supersedes=row["supersedes"],
                applied=row["applied"],
                reason=row["reason"],
            )
        )
    moved = changed(state, after)
    await uow.sessions.save_state(session_id, moved)
    emit_changes(uow, session_id, moved)
    return after
