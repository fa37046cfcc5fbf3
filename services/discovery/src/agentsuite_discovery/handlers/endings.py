"""How a session ends: completed with its requirements, or abandoned with the reason; and
the agent's turn that asks the next question."""

from __future__ import annotations

from typing import Any

from agentsuite_contracts.discovery import SessionAbandoned, SessionCompleted, TurnRecorded
from agentsuite_contracts.ids import uuid7
from agentsuite_discovery.domain.objectives import Objective, Question
from agentsuite_discovery.domain.sessions import State, requirements
from agentsuite_discovery.handlers.candidates import candidates
from agentsuite_discovery.handlers.client import CLIENT
from agentsuite_discovery.handlers.common import question_view
from agentsuite_discovery.repositories.conversation import ANSWERED, FAILED, PENDING
from agentsuite_discovery.repositories.sessions import ABANDONED, COMPLETED, SessionRecord
from agentsuite_discovery.uow import DiscoveryUow
from agentsuite_kit.storable import escape_text

NOTHING_LEFT = "Nothing more to ask: the session can be completed."


async def ask(
    uow: DiscoveryUow,
    record: SessionRecord,
    question: Question | None,
    reply: str | None = None,
    **values: Any,
) -> None:
    """The agent's turn: the model's reply (if any), then the next question (or that none
    is left); the question set on the session with `values`."""
    seq = record.next_seq
    asking = NOTHING_LEFT if question is None else question.text
    text = asking if not reply else f"{escape_text(reply)}\n\n{asking}"
    turn_id = uuid7()
    view = None if question is None else question_view(question)
    await uow.turns.add(
        turn_id,
        record.id,
        seq,
        "agent",
        text,
        ANSWERED,
        session={"question": view, "next_seq": seq + 1, **values},
        asked_question=None if question is None else question.key,
    )
    uow.emit(
        TurnRecorded(session_id=record.id, turn_id=turn_id, seq=seq, role="agent", content=text)
    )


async def complete(
    uow: DiscoveryUow,
    record: SessionRecord,
    objective: Objective,
    state: State,
    *,
    forced: bool,
    reason: str | None,
    **values: Any,
) -> None:
    ids = [st.extraction_id for st in state.values() if st.extraction_id is not None]
    found = await uow.extractions.by_ids(ids)
    cited = await candidates(uow, objective, state)
    document = requirements(objective, state, found, cited, forced, reason)
    await uow.sessions.change(
        record.id,
        status=COMPLETED,
        question=None,
        requirements=document.model_dump(mode="json"),
        **values,
    )
    uow.emit(SessionCompleted(session_id=record.id, requirements=document))


async def abandon(
    uow: DiscoveryUow, record: SessionRecord, reason: str, note: str | None, **values: Any
) -> None:
    """End the session; a call still pending is no longer waited for (its answer, should
    one come, is ignored), and its turn fails with the session's reason."""
    for call in await uow.sessions.pending_calls(record.id):
        await CLIENT.abandon(uow, call)
        turn = await uow.turns.get(call["turn_id"])
        if turn is not None and turn.status == PENDING:
            await uow.turns.end(turn.id, FAILED, reason)
    await uow.sessions.change(record.id, status=ABANDONED, reason=reason, question=None, **values)
    uow.emit(SessionAbandoned(session_id=record.id, reason=reason, note=note))
