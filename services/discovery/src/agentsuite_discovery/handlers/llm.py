"""The LLM loop: a user turn's request to the gateway, and its answer applied.

A turn is recorded and its request sent in one transaction (`send`); the answer is parsed
and applied in the transaction that marks the call answered (`answered`): extractions,
obligation states, the agent's next question, completion when the gate is met. A failed,
timed-out or unreadable answer fails the turn and puts the session back to `gathering`
with the same question: never stuck. A call the gateway lost mid-way (it restarted:
`interrupted`, `unavailable`) is asked anew, `retries` times, before the turn fails.
"""

from __future__ import annotations

from typing import Any

from agentsuite_contracts.llm import LlmRequest, LlmResponse, ResponseFormat
from agentsuite_discovery.deps import Deps
from agentsuite_discovery.domain.objectives import Objective
from agentsuite_discovery.domain.prompts import RESPONSE_SCHEMA, AnswerInvalid, answer_of, messages
from agentsuite_discovery.domain.prompts import summary as summary_of
from agentsuite_discovery.domain.sessions import State, met, next_question
from agentsuite_discovery.handlers import endings
from agentsuite_discovery.handlers.client import CLIENT, REQUESTER
from agentsuite_discovery.handlers.common import objective_for, question_of
from agentsuite_discovery.handlers.extractions import record as record_extractions
from agentsuite_discovery.repositories.conversation import ANSWERED, FAILED, PENDING, TurnRecord
from agentsuite_discovery.repositories.sessions import GATHERING, THINKING, Held, SessionRecord
from agentsuite_discovery.uow import DiscoveryUow
from agentsuite_kit.jobs import Handler as JobHandler
from agentsuite_kit.llm import Replies
from agentsuite_kit.runtime import ConsumerSpec
from agentsuite_kit.storable import escape_text

# the gateway's process died with the call (or could not take it): no answer exists
LOST = frozenset({"interrupted", "unavailable"})
MAX_TOKENS = 2**31 - 1  # the column is an integer; a runaway count stops there
MAX_REASON = 2_000


async def send(
    uow: DiscoveryUow,
    deps: Deps,
    record: SessionRecord,
    objective: Objective,
    state: State,
    turn: TurnRecord,
    retry: int = 0,
) -> None:
    """Ask the model about `turn` (the `retry`-th new request for it)."""
    settings = deps.settings
    recent = await uow.turns.recent(record.id, turn.seq, settings.recent_chars)
    request = LlmRequest(
        requester=REQUESTER,
        model=settings.model,
        messages=messages(
            objective,
            state,
            summary_of(objective, state),
            [(t.role, t.content) for t in recent],
            turn.content,
            question_of(record.question),
            recent_chars=settings.recent_chars,
        ),
        response_format=ResponseFormat(
            kind="json_schema", name="extractions", json_schema=RESPONSE_SCHEMA
        ),
        labels={"session_id": str(record.id), "turn_id": str(turn.id)},
    )
    await CLIENT.send(
        uow,
        request,
        values={"session_id": record.id, "turn_id": turn.id, "retry": retry},
        resend_after=settings.resend_after,
        resends=settings.resends,
    )


async def _lock(uow: DiscoveryUow, call: dict[str, Any]) -> Held | None:
    # the session first, then the call: the order a turn's own transaction takes them in;
    # its obligations' states read with it (the answer is applied to them)
    return await uow.sessions.held(call["session_id"], lock=True)


def replies(deps: Deps) -> Replies[DiscoveryUow]:
    async def on_answer(
        uow: DiscoveryUow, call: dict[str, Any], response: LlmResponse, held: Any
    ) -> None:
        await answered(uow, deps, call, response, held)

    return Replies(on_answer=on_answer, lock=_lock)


def consumer(deps: Deps) -> ConsumerSpec[DiscoveryUow]:
    return CLIENT.consumer(replies(deps))


def jobs(deps: Deps) -> dict[str, JobHandler[DiscoveryUow]]:
    return CLIENT.jobs(replies(deps))


async def answered(
    uow: DiscoveryUow,
    deps: Deps,
    call: dict[str, Any],
    response: LlmResponse,
    held: Held,
) -> None:
    """Apply the answer to the turn it is for (once: the kit ends the call with it)."""
    record, state = held.record, held.state
    turn = await uow.turns.get(call["turn_id"])
    if record.status != THINKING or turn is None or turn.status != PENDING:
        return  # the session moved on (abandoned while the call ran)
    objective = await objective_for(uow, record.objective, record.objective_version)
    used = response.usage.total_tokens if response.usage is not None else 0
    tokens = min(MAX_TOKENS, record.tokens + max(0, used))
    if response.status != "ok" or response.message is None:
        error = response.error
        code = str(error.code) if error is not None else "provider_error"
        if code in LOST and call["retry"] < deps.settings.retries:
            await uow.sessions.change(record.id, tokens=tokens)
            await send(uow, deps, record, objective, state, turn, call["retry"] + 1)
            return
        message = error.message if error is not None else "the gateway answered an error"
        await _failed(uow, deps, record, turn, f"{code}: {message}", tokens)
        return
    try:
        answer = answer_of(response.message.content)
    except AnswerInvalid as exc:
        await _failed(uow, deps, record, turn, f"invalid_answer: {exc.reason}", tokens)
        return
    after = await record_extractions(uow, record.id, turn.id, objective, state, answer.extractions)
    await uow.turns.end(turn.id, ANSWERED)
    await _next(uow, deps, record, objective, after, tokens, answer.reply)


async def _capped(uow: DiscoveryUow, deps: Deps, record: SessionRecord, tokens: int) -> bool:
    """End the session when it is over a cap; whether it was."""
    reason = None
    if record.turns >= deps.settings.max_turns:
        reason = "turn_cap"
    elif tokens >= deps.settings.max_tokens:
        reason = "token_cap"
    if reason is None:
        return False
    await endings.abandon(uow, record, reason, None, tokens=tokens)
    return True


async def _next(
    uow: DiscoveryUow,
    deps: Deps,
    record: SessionRecord,
    objective: Objective,
    state: State,
    tokens: int,
    reply: str | None,
) -> None:
    if met(objective, state):
        await endings.complete(
            uow, record, objective, state, forced=False, reason=None, tokens=tokens
        )
        return
    if await _capped(uow, deps, record, tokens):
        return
    question = next_question(objective, state, await uow.asked.keys(record.id))
    await endings.ask(uow, record, question, reply, status=GATHERING, tokens=tokens)


async def _failed(
    uow: DiscoveryUow, deps: Deps, record: SessionRecord, turn: TurnRecord, reason: str, tokens: int
) -> None:
    """The turn failed: the session waits for the user again, the same question asked."""
    await uow.turns.end(turn.id, FAILED, escape_text(reason)[:MAX_REASON])
    if await _capped(uow, deps, record, tokens):
        return
    await uow.sessions.change(record.id, status=GATHERING, tokens=tokens)
