"""Watching a run: its log as Server-Sent Events or as pages, and its timeline."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Annotated, Any, cast
from uuid import UUID

from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse, ServerSentEvent

from agentsuite_contracts.common import Money
from agentsuite_execution.api.edge import (
    NOT_FOUND,
    PAGE,
    READ,
    AppDeps,
    LogPages,
    Reader,
    Uow,
    run_of,
)
from agentsuite_execution.api.schemas import (
    AttemptView,
    LlmCallView,
    LogEntry,
    TimelineView,
    Totals,
    Usage,
)
from agentsuite_execution.deps import Deps
from agentsuite_execution.domain.runs import Run
from agentsuite_execution.domain.states import RUN_DONE
from agentsuite_execution.repositories.timeline import Timeline
from agentsuite_kit.edge import INVALID, errors
from agentsuite_kit.http.numbers import ascii_int
from agentsuite_kit.http.pagination import Page, paginate, shaped
from agentsuite_kit.http.problems import ProblemError

POLL = 0.2  # seconds between reads of the log while the run is quiet
BATCH = 200  # log rows read per poll
# Rows get their seq just before their transaction commits, so one may commit after a
# higher seq is already out: the stream re-reads this long behind the newest row it sent.
SETTLE = 2.0

MAX_SEQ = 2**63 - 1  # the log's seq is a bigint: a larger one was a broken stream
EVENT = {
    "type": "object",
    "required": ["id", "event", "data"],
    "properties": {
        "id": {"type": "string", "description": "The row's log seq."},
        "event": {"type": "string", "description": "The row's type."},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "The row as JSON (a `LogEntry`).",
        },
    },
}


class Tail:
    """Which log rows a stream has sent: every seq up to `floor`, and those in `seen`
    above it (with when they were first read), until they are older than `settle`."""

    def __init__(self, after: int | None, settle: float = SETTLE) -> None:
        self.floor = after
        self.settle = settle
        self.seen: dict[int, float] = {}

    def take(self, rows: Sequence[dict[str, Any]], now: float) -> list[dict[str, Any]]:
        """The rows not sent yet; the floor rises past rows read `settle` seconds ago."""
        fresh = [r for r in rows if r["seq"] not in self.seen]
        for row in fresh:
            self.seen[row["seq"]] = now
        settled = [seq for seq, at in self.seen.items() if now - at >= self.settle]
        if settled:
            self.floor = max(settled)
            self.seen = {seq: at for seq, at in self.seen.items() if seq > self.floor}
        return fresh


routes = APIRouter(prefix="/v1", tags=["executions"])


@routes.get(
    "/executions/{execution_id}/events",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "`id:` the log seq, `event:` its type, `data:` the row as "
            "JSON (a `LogEntry`); ends once the run is over and its log is sent.",
            # OpenAPI before 3.2: `schema` describes one event of the stream
            "content": {"text/event-stream": {"schema": EVENT}},
        },
        **errors((400, "Last-Event-ID is not a log seq."), NOT_FOUND, INVALID),
    },
)
async def stream_events(
    execution_id: UUID,
    principal: Reader,
    uow: Uow,
    deps: AppDeps,
    after: Annotated[
        int | None,
        Query(ge=0, le=MAX_SEQ, description="Start after this seq (Last-Event-ID wins)."),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID", description="The id of the last event received."),
    ] = None,
) -> EventSourceResponse:
    """The run's log as it grows: every `execution.*` event and step log line."""
    if last_event_id is not None:
        seq = ascii_int(last_event_id)
        if seq is None or seq > MAX_SEQ:
            raise ProblemError(
                400, "Last-Event-ID: must be a seq this stream sent.", code="invalid_cursor"
            )
        after = seq
    await run_of(uow, execution_id)
    return EventSourceResponse(
        _stream(deps, principal.tenant, execution_id, after),
        ping=deps.settings.sse_keepalive,
    )


@routes.get("/executions/{execution_id}/logs", response_model=Page[LogEntry], responses=PAGE)
async def list_logs(
    execution_id: UUID,
    principal: Reader,
    page: LogPages,
    uow: Uow,
    key: Annotated[str | None, Query(max_length=300, description="Only rows of this step.")] = None,
) -> Page[LogEntry]:
    """The rows the event stream sends, oldest first."""
    shape = shaped(page, int)
    seq = None if shape is None else cast("int", shape[0])
    await run_of(uow, execution_id)
    rows = await uow.log.after(execution_id, seq, page.limit, key=key)
    entries = [LogEntry.of(r) for r in rows]
    return paginate(entries, page.limit, lambda e: (e.seq,))


@routes.get("/executions/{execution_id}/timeline", response_model=TimelineView, responses=READ)
async def get_timeline(
    execution_id: UUID,
    principal: Reader,
    uow: Uow,
    limit: Annotated[int, Query(ge=1, le=5000, description="Most attempts listed.")] = 1000,
) -> TimelineView:
    """Every attempt of every step in the order they started, with its duration,
    outcome, usage and LLM calls; the run's totals."""
    run = await run_of(uow, execution_id)
    rows = await Timeline(uow.session).attempts(execution_id, limit + 1)
    return timeline(run, rows, limit)


async def _stream(
    deps: Deps, tenant: UUID, execution_id: UUID, after: int | None
) -> AsyncIterator[ServerSentEvent]:
    tail = Tail(after)
    while True:
        # the status first: a final one read here means every row of the run is committed
        # by the time the log is read below
        async with deps.uow(tenant) as uow:
            run = await uow.executions.get(execution_id)
            rows = await uow.log.after(execution_id, tail.floor, BATCH)
        fresh = tail.take(rows, time.monotonic())
        for row in fresh:
            entry = LogEntry.of(row)
            yield ServerSentEvent(data=entry.model_dump_json(), event=entry.type, id=str(entry.seq))
        full = len(rows) > BATCH
        if run is None or (run.status in RUN_DONE and not fresh and not full):
            return
        if not fresh or not full:
            await asyncio.sleep(POLL)


def timeline(run: Run, rows: Sequence[dict[str, Any]], limit: int) -> TimelineView:
    currency = run.currency
    attempts: list[AttemptView] = []
    for row in rows[:limit]:
        calls = [
            LlmCallView.model_validate(
                {**c, "cost": {"amount_micros": c["cost"], "currency": currency}}
            )
            for c in row["llm_calls"]
        ]
        finished = row["finished_at"]
        attempts.append(
            AttemptView(
                key=row["key"],
                kind=row["kind"],
                parent=row["parent"],
                attempt=row["attempt"],
                generation=row["generation"],
                status=row["status"],
                worker=row["worker"],
                started_at=row["started_at"],
                finished_at=finished,
                duration_ms=None if finished is None else _ms(finished - row["started_at"]),
                tokens=row["tokens"],
                cost=Money(amount_micros=row["cost"], currency=currency),
                error_code=(row["error"] or {}).get("code"),
                llm_calls=calls,
            )
        )
    usage = Usage.of(run)
    calls_made = [c for a in attempts for c in a.llm_calls]
    totals = Totals(
        attempts=len(attempts),
        failed_attempts=sum(1 for a in attempts if a.status in ("failed", "lost")),
        llm_calls=len(calls_made),
        cached_llm_calls=sum(1 for c in calls_made if c.cached),
        usage=usage,
        duration_ms=None if run.finished_at is None else _ms(run.finished_at - run.started_at),
    )
    return TimelineView(
        execution_id=run.execution_id,
        status=run.status,
        attempts=attempts,
        truncated=len(rows) > limit,
        totals=totals,
    )


def _ms(delta: timedelta) -> int:
    return max(0, round(delta.total_seconds() * 1000))
