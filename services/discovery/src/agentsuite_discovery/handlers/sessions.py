"""Sessions: open one, take a user's turn, complete it (by its gate, or forced), abandon it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from agentsuite_contracts.discovery import (
    ExtractionKind,
    SessionReopened,
    SessionStarted,
    TurnRecorded,
)
from agentsuite_contracts.ids import uuid7
from agentsuite_discovery.deps import Deps
from agentsuite_discovery.domain.sessions import (
    Proposed,
    gaps,
    initial,
    met,
    next_question,
)
from agentsuite_discovery.handlers import endings, llm
from agentsuite_discovery.handlers.common import (
    held_session,
    objective_for,
    session_of,
    writable,
)
from agentsuite_discovery.handlers.extractions import record as record_extractions
from agentsuite_discovery.repositories.conversation import PENDING, TurnRecord
from agentsuite_discovery.repositories.sessions import (
    CLOSED,
    COMPLETED,
    GATHERING,
    THINKING,
    SessionRecord,
)
from agentsuite_discovery.uow import DiscoveryUow
from agentsuite_kit.errors import Conflict, Forbidden, Invalid
from agentsuite_kit.storable import text_flaw


@dataclass(frozen=True, slots=True)
class Prefilled:
    value: Any
    confidence: float
    kind: ExtractionKind = ExtractionKind.FACT


@dataclass(frozen=True, slots=True)
class OpenSession:
    user_id: UUID
    objective: str
    version: int | None
    title: str
    prefill: Mapping[str, Prefilled] = field(default_factory=dict)


async def open_session(command: OpenSession, uow: DiscoveryUow, deps: Deps) -> SessionRecord:
    """A session on the objective's version (the newest by default), its prefilled answers
    recorded as extractions of no turn, its first question asked."""
    await writable(uow)
    objective = await objective_for(uow, command.objective, command.version)
    session_id = uuid7()
    await uow.sessions.add(
        session_id, command.user_id, objective.key, objective.version, command.title
    )
    uow.emit(
        SessionStarted(
            session_id=session_id,
            objective=objective.key,
            objective_version=objective.version,
            title=command.title,
            user_id=command.user_id,
            obligations=[o.key for o in objective.obligations],
        )
    )
    state = initial(objective)
    await uow.sessions.save_state(session_id, state.values())
    proposed = [
        Proposed(
            obligation=key,
            value=p.value,
            kind=p.kind,
            confidence=p.confidence,
            relation=None,
            supersedes=None,
        )
        for key, p in command.prefill.items()
    ]
    if proposed:
        state = await record_extractions(uow, session_id, None, objective, state, proposed)
    record = await uow.sessions.get(session_id)
    assert record is not None  # inserted above, in this transaction
    if met(objective, state):
        # the prefill already answers everything required: no turn would ever come to
        # complete it (an answer completes a session the same way)
        await endings.complete(uow, record, objective, state, forced=False, reason=None)
    else:
        await endings.ask(uow, record, next_question(objective, state, ()))
    opened = await uow.sessions.get(session_id)
    assert opened is not None
    return opened


@dataclass(frozen=True, slots=True)
class TakeTurn:
    session_id: UUID
    user_id: UUID
    content: str


def check_content(content: str, limit: int) -> None:
    """A turn is text PostgreSQL can hold, not blank, at most `limit` characters."""
    flaw = text_flaw(content)
    if flaw is not None:
        raise Invalid("invalid_content", f"content: {flaw}", field="content")
    if not content.strip():
        raise Invalid("content_blank", "content: a turn says something", field="content")
    if len(content) > limit:
        raise Invalid("content_too_long", f"content: at most {limit} characters", field="content")


async def take_turn(command: TakeTurn, uow: DiscoveryUow, deps: Deps) -> TurnRecord:
    """Record the user's turn and send it to the model; the session thinks until the
    answer (or its failure) comes."""
    check_content(command.content, deps.settings.max_turn_chars)
    record, state = await held_session(uow, command.session_id, command.user_id)
    if record.status in CLOSED:
        raise Conflict("session_closed", f"the session is {record.status}")
    if record.status == THINKING:
        raise Conflict("session_busy", "the session is still answering the previous turn")
    turn_id, seq = uuid7(), record.next_seq
    turn = await uow.turns.add(
        turn_id,
        record.id,
        seq,
        "user",
        command.content,
        PENDING,
        session={"status": THINKING, "turns": record.turns + 1, "next_seq": seq + 1},
    )
    uow.emit(
        TurnRecorded(
            session_id=record.id, turn_id=turn_id, seq=seq, role="user", content=command.content
        )
    )
    objective = await objective_for(uow, record.objective, record.objective_version)
    await llm.send(uow, deps, record, objective, state, turn)
    return turn


@dataclass(frozen=True, slots=True)
class Complete:
    session_id: UUID
    user_id: UUID
    force: bool
    may_force: bool
    reason: str | None = None


async def complete(command: Complete, uow: DiscoveryUow, deps: Deps) -> SessionRecord:
    """Complete the session when its gate is met; forced (by whom may) with the gaps listed."""
    if command.force and not command.may_force:
        raise Forbidden(
            "force_not_allowed", "completing a session by force needs discovery:force_complete"
        )
    await writable(uow)
    record = await _open(uow, command.session_id, command.user_id)
    objective = await objective_for(uow, record.objective, record.objective_version)
    state = await uow.sessions.state(record.id)
    done = met(objective, state)
    if not done and not command.force:
        missing = [g.model_dump(mode="json") for g in gaps(objective, state)]
        raise Conflict(
            "gate_not_met",
            f"{len(missing)} required obligation(s) below their confidence",
            extensions={"gaps": missing},
        )
    forced = not done
    await endings.complete(
        uow, record, objective, state, forced=forced, reason=command.reason if forced else None
    )
    return await _reread(uow, record.id)


@dataclass(frozen=True, slots=True)
class Abandon:
    session_id: UUID
    user_id: UUID
    note: str | None = None


async def abandon(command: Abandon, uow: DiscoveryUow, deps: Deps) -> SessionRecord:
    """Give the session up; a call in flight is no longer waited for."""
    record = await session_of(uow, command.session_id, command.user_id, lock=True)
    if record.status in CLOSED:
        raise Conflict("session_closed", f"the session is {record.status}")
    await endings.abandon(uow, record, "abandoned", command.note)
    return await _reread(uow, record.id)


@dataclass(frozen=True, slots=True)
class Reopen:
    session_id: UUID
    user_id: UUID
    reason: str | None = None


async def reopen(command: Reopen, uow: DiscoveryUow, deps: Deps) -> SessionRecord:
    """A completed session gathers again: new turns may revise or contradict its values
    (an approved plan citing one goes stale), and completing it again makes new
    requirements. Its old requirements are cleared: they no longer say what is known."""
    record, _ = await held_session(uow, command.session_id, command.user_id)
    if record.status != COMPLETED:
        raise Conflict("session_not_completed", f"the session is {record.status}")
    await uow.sessions.change(record.id, status=GATHERING, requirements=None, reason=None)
    uow.emit(SessionReopened(session_id=record.id, user_id=command.user_id, reason=command.reason))
    return await _reread(uow, record.id)


async def _open(uow: DiscoveryUow, session_id: UUID, user_id: UUID) -> SessionRecord:
    record = await session_of(uow, session_id, user_id, lock=True)
    if record.status in CLOSED:
        raise Conflict("session_closed", f"the session is {record.status}")
    if record.status != GATHERING:
        raise Conflict("session_busy", "the session is still answering a turn")
    return record


async def _reread(uow: DiscoveryUow, session_id: UUID) -> SessionRecord:
    record = await uow.sessions.get(session_id)
    assert record is not None  # locked by this transaction
    return record
