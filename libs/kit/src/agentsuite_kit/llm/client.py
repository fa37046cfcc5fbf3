"""Request/reply with llm-gateway: a call is a row of the service's calls table, sent and
answered each in one transaction of the service's unit of work.

    client = LlmClient[PlanningUow]("planning", calls)            # calls: llm.table.calls_table
    replies = Replies(on_answer=apply, lock=lock_parent)          # the service's callbacks
    Runtime(settings, uow=PlanningUow, consumers=[client.consumer(replies)],
            jobs=client.jobs(replies))
    ...
    await client.send(uow, request, values={"session_id": sid},
                      resend_after=timedelta(seconds=60), resends=2)

`send` records the call as pending and puts the request in the outbox, in the caller's
transaction, its `reply_to` the requester's own reply topic (`llm.responses.<service>.v1`,
`agentsuite_contracts.topic_names.reply_topic`; the shared `llm.responses.v1` for a
requester the registry has none for). The gateway answers once per `request_id` on
`reply_to` (keeping the answer:
a request sent again gets the same answer, or `interrupted` if the call died with its
process, and nothing while the call still runs). The consumer matches an answer to its
pending row by `request_id` under the envelope's tenant (RLS: another tenant's id is not
found), marks it answered and hands it to `on_answer` in the same transaction; an answer
for another requester, an unknown id, or a call no longer pending (answered, abandoned) is
a no-op, so a repeated or late answer applies once and never loops.

With `resend_after`, a job per call sends the request again (same `request_id`, a new
envelope) after each wait while it is pending, `resends` times; after the last wait it
gives up (`give_up=True`): the call is abandoned and `on_answer` gets a `timeout` error
answer, so a service handles a lost call where it handles a failed one. A service whose
own durable timer already bounds the call (execution's step timeout) passes
`give_up=False` and calls `abandon` itself.

Reply topics are new in this version: requests sent before it named the shared
`llm.responses.v1`, and the gateway answers (and repeats its answer to a re-sent request)
on the topic it stored then. So the consumer also reads `llm.responses.v1`, in the same
group (`<service>.<name>`, whose committed offsets there are where the old one stopped),
keeping only its requester's answers. A later version drops that subscription, once no
call of the previous one can be pending.

Lock order: `Replies.lock` locks what the answer will change (execution: the run) before
the call's row, the order the service's own transactions take them in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import Table, func, insert, select, update

from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.llm import LlmError, LlmErrorCode, LlmRequest, LlmResponse
from agentsuite_contracts.registry import REGISTRY, Registry
from agentsuite_contracts.topic_names import LLM_REQUESTS_V1, LLM_RESPONSES_V1, REPLY_TOPICS
from agentsuite_kit.db.repository import Repository
from agentsuite_kit.db.scoped import ScopedConnection
from agentsuite_kit.db.uow import UnitOfWork
from agentsuite_kit.jobs import Handler as JobHandler
from agentsuite_kit.jobs import Job
from agentsuite_kit.llm.table import ABANDONED, ANSWERED, PENDING
from agentsuite_kit.runtime import INTERACTIVE_FETCH_WAIT_MS, ConsumerSpec

U = TypeVar("U", bound=UnitOfWork)

Row = dict[str, Any]
Lock = Callable[[U, Row], Awaitable[Any]]
"""Lock what the answer changes before the call's row; what it returns goes to
`on_answer` as `held`, and None means there is nothing to apply the answer to (skipped)."""
Answered = Callable[[U, Row, LlmResponse, Any], Awaitable[None]]
"""`(uow, call, response, held)`: the call's row (as it was while pending), its answer."""

GAVE_UP = "no answer from llm-gateway, the request sent {n} times"


@dataclass(frozen=True)
class Replies(Generic[U]):
    """What a service does with answers: `on_answer` once per call, in the transaction
    that marks it answered; `stored(response)` the service's columns written with it."""

    on_answer: Answered[U]
    lock: Lock[U] | None = None
    stored: Callable[[LlmResponse], Mapping[str, Any]] | None = None


class Calls(Repository):
    """The kit's SQL on a calls table (`agentsuite_kit.llm.table.calls_table`)."""

    def __init__(self, session: ScopedConnection, table: Table) -> None:
        super().__init__(session)
        self.table = table

    async def add(self, request: LlmRequest, values: Mapping[str, Any], keep: bool) -> None:
        """A pending call; `keep`: with the request, for a job to send it again."""
        body = request.model_dump(mode="json") if keep else None
        await self.session.execute(
            insert(self.table).values(
                tenant_id=self.session.info["tenant"],
                request_id=request.request_id,
                state=PENDING,
                request=body,
                **values,
            )
        )

    async def get(self, request_id: UUID, *, lock: bool = False) -> Row | None:
        query = select(*self.table.c).where(self.table.c.request_id == request_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else dict(row._mapping)

    async def end(self, request_id: UUID, state: str, values: Mapping[str, Any]) -> bool:
        """Move a pending call to `state`; False when it was not pending (the no-op)."""
        c = self.table.c
        done = await self.session.execute(
            update(self.table)
            .where(c.request_id == request_id, c.state == PENDING)
            .values(state=state, answered_at=func.now(), request=None, **values)
            .returning(c.request_id)
        )
        return done.first() is not None

    async def resent(self, request_id: UUID) -> None:
        c = self.table.c
        await self.session.execute(
            update(self.table).where(c.request_id == request_id).values(resends=c.resends + 1)
        )


class LlmClient(Generic[U]):
    """One per requesting service (see the module's docstring).

    `requester` is what the gateway copies into its answers (and what `send` sets on
    each request); `reply_to` the topic its answers come on (a registered topic carrying
    `LlmResponse`; by default the requester's reply topic, see the module's docstring);
    `name` the consumer's name (group `<service>.<name>`), also naming the job kind
    `llm.<name>.resend`.
    """

    def __init__(
        self,
        requester: str,
        table: Table,
        *,
        reply_to: str | None = None,
        name: str = "responses",
    ) -> None:
        self.requester = requester
        self.table = table
        self.reply_to = reply_to or REPLY_TOPICS.get(requester, LLM_RESPONSES_V1)
        self.name = name
        self.job_kind = f"llm.{name}.resend"

    def calls(self, uow: U) -> Calls:
        return Calls(uow.session, self.table)

    async def send(
        self,
        uow: U,
        request: LlmRequest,
        *,
        values: Mapping[str, Any] | None = None,
        resend_after: timedelta | None = None,
        resends: int = 0,
        give_up: bool = True,
    ) -> LlmRequest:
        """Record `request` as pending (with the service's `values`) and send it, in `uow`'s
        transaction; the request as sent (requester and reply topic set)."""
        if resends < 0:
            raise ValueError(f"resends: must be at least 0, got {resends}")
        request = request.model_copy(
            update={"requester": self.requester, "reply_to": self.reply_to}
        )
        timed = resend_after is not None and (resends > 0 or give_up)
        await self.calls(uow).add(request, values or {}, keep=timed)
        uow.emit(request, topic=LLM_REQUESTS_V1)
        if timed:
            assert resend_after is not None
            plan = {"every": resend_after.total_seconds(), "resends": resends, "give_up": give_up}
            await self._schedule(uow, request.request_id, 0, plan)
        return request

    async def abandon(self, uow: U, call: Row) -> bool:
        """Stop waiting for `call` (a row of the table); an answer arriving later is
        ignored. False when it was no longer pending."""
        if not await self.calls(uow).end(call["request_id"], ABANDONED, {}):
            return False
        await self._unschedule(uow, call)
        return True

    # --- answers --------------------------------------------------------------------------

    def consumer(self, replies: Replies[U], *, registry: Registry = REGISTRY) -> ConsumerSpec[U]:
        """The subscription to `reply_to` that applies this requester's answers; also to
        the shared `llm.responses.v1`, for answers to requests sent before the reply topics
        (see the module's docstring; to be dropped in a later version)."""

        async def handle(envelope: Envelope[Any], uow: U) -> None:
            await self.answered(uow, envelope.payload, replies)

        shared = () if self.reply_to == LLM_RESPONSES_V1 else (LLM_RESPONSES_V1,)
        return ConsumerSpec[U](
            name=self.name,
            topic=self.reply_to,
            handlers={LlmResponse: handle},
            registry=registry,
            also=shared,
            fetch_wait_ms=INTERACTIVE_FETCH_WAIT_MS,  # the requester's user waits on it
        )

    async def answered(self, uow: U, response: LlmResponse, replies: Replies[U]) -> bool:
        """Apply `response` to its pending call; False when it was a no-op."""
        if response.requester != self.requester:
            return False  # another service's answer on the shared topic
        taken = await self._take(uow, response.request_id, replies)
        if taken is None:
            return False
        call, held = taken
        stored = replies.stored(response) if replies.stored is not None else {}
        await self.calls(uow).end(call["request_id"], ANSWERED, stored)
        await self._unschedule(uow, call)
        await replies.on_answer(uow, call, response, held)
        return True

    async def _take(self, uow: U, request_id: UUID, replies: Replies[U]) -> tuple[Row, Any] | None:
        """The pending call, locked after what `replies.lock` locks; None: nothing to do."""
        calls = self.calls(uow)
        call = await calls.get(request_id)
        if call is None or call["state"] != PENDING:
            return None  # unknown here (another tenant's, or never ours), or already over
        held: Any = True
        if replies.lock is not None:
            held = await replies.lock(uow, call)
            if held is None:
                return None
        call = await calls.get(request_id, lock=True)
        if call is None or call["state"] != PENDING:
            return None
        return call, held

    # --- re-requests and giving up -----------------------------------------------------------

    def jobs(self, replies: Replies[U]) -> dict[str, JobHandler[U]]:
        """The job handlers to pass to `Runtime(jobs=...)`."""

        async def due(job: Job, uow: U) -> None:
            await self._due(uow, job, replies)

        return {self.job_kind: due}

    async def _due(self, uow: U, job: Job, replies: Replies[U]) -> None:
        plan = job.payload
        taken = await self._take(uow, UUID(plan["request_id"]), replies)
        if taken is None:
            return
        call, held = taken
        sent = call["resends"]
        if sent < plan["resends"]:
            # the same request_id in a new envelope: the gateway's inbox takes it as new,
            # its requests table answers it as the same call
            uow.emit(LlmRequest.model_validate(call["request"]), topic=LLM_REQUESTS_V1)
            await self.calls(uow).resent(call["request_id"])
            if sent + 1 < plan["resends"] or plan["give_up"]:
                await self._schedule(uow, call["request_id"], sent + 1, plan)
            return
        if not plan["give_up"]:
            return
        await self.calls(uow).end(call["request_id"], ABANDONED, {})
        timeout = LlmResponse(
            request_id=call["request_id"],
            requester=self.requester,
            status="error",
            latency_ms=0,
            error=LlmError(
                code=LlmErrorCode.TIMEOUT, message=GAVE_UP.format(n=sent + 1), retryable=True
            ),
        )
        await replies.on_answer(uow, call, timeout, held)

    async def _schedule(self, uow: U, request_id: UUID, n: int, plan: Mapping[str, Any]) -> None:
        # one job per wait, keyed by how many re-requests came before it: a running job
        # cannot move itself to a later slot, it schedules the next
        due = datetime.now(UTC) + timedelta(seconds=plan["every"])
        payload = {**plan, "request_id": str(request_id)}
        await uow.jobs.schedule(self.job_kind, key=f"{request_id}:{n}", run_at=due, payload=payload)

    async def _unschedule(self, uow: U, call: Row) -> None:
        if call["request"] is None:
            return  # sent without a job (no `resend_after`)
        # skip_locked: a runner holding the job waits for our locks (it takes the call's
        # after), so waiting for its job row here would deadlock; it finds the call over
        await uow.jobs.cancel(
            self.job_kind, f"{call['request_id']}:{call['resends']}", skip_locked=True
        )
