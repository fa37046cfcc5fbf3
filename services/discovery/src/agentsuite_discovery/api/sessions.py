"""Sessions: open one, read them, take turns, complete or abandon one."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from typing import Annotated, Any, cast
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from agentsuite_contracts.discovery import ExtractionKind
from agentsuite_discovery.api.edge import (
    FORCE,
    AppDeps,
    Bounded,
    IdempotencyKey,
    SessionReader,
    SessionWriter,
    Uow,
    owner_of,
)
from agentsuite_discovery.api.views import (
    ExtractionView,
    SessionView,
    TurnAccepted,
    TurnView,
)
from agentsuite_discovery.handlers import sessions as handlers
from agentsuite_discovery.handlers.common import load_view, session_of
from agentsuite_discovery.repositories.sessions import SessionRecord
from agentsuite_discovery.uow import DiscoveryUow
from agentsuite_kit.edge import BAD_CURSOR, INVALID, NOT_FOUND, TOO_LARGE, Pages, created, errors
from agentsuite_kit.http.etag import etag
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import CursorParams, Int32, Page, paginate, shaped
from agentsuite_kit.http.problems import ProblemError

routes = APIRouter(prefix="/v1", tags=["sessions"], route_class=Bounded)

INACTIVE = "the tenant is suspended or deleted"
CLOSED = "the session is completed or abandoned (`session_closed`)"
BUSY = "a turn is being answered (`session_busy`)"


class PrefillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Any = Field(description="The known answer (any JSON).")
    # strict: a bool or a numeric string is no confidence (the model's and an objective's
    # confidences are refused the same way)
    confidence: float = Field(ge=0, le=1, strict=True)
    kind: ExtractionKind = ExtractionKind.FACT


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    objective: str = Field(default="default", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    version: int | None = Field(default=None, ge=1, le=1_000_000)
    title: str = Field(min_length=1, max_length=200)
    prefill: dict[Annotated[str, Field(max_length=64)], PrefillIn] = Field(
        default_factory=dict, max_length=100, description="Answers known already, by obligation."
    )


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, description="What the user says (at most `max_turn_chars`).")


class CompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    force: bool = Field(
        default=False, description="Complete with gaps (needs discovery:force_complete)."
    )
    reason: str | None = Field(default=None, max_length=2_000)


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=2_000)


class AbandonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2_000)


async def _view(uow: DiscoveryUow, record: SessionRecord) -> SessionView:
    return SessionView.model_validate(await load_view(uow, record))


def _after_id(pages: CursorParams) -> UUID | None:
    """The id a page of id-ordered rows starts after (a cursor of another list is a 400)."""
    after = shaped(pages, str)
    if after is None:
        return None
    try:
        return UUID(cast("str", after[0]))
    except ValueError:
        raise ProblemError(400, "The cursor is invalid.", code="invalid_cursor") from None


def _tagged(view: SessionView) -> JSONResponse:
    return JSONResponse(view.model_dump(mode="json"), headers={"ETag": etag(view.version)})


@routes.post(
    "/sessions",
    status_code=201,
    response_model=SessionView,
    responses=errors(
        (400, "A malformed Idempotency-Key."), NOT_FOUND, (409, INACTIVE), INVALID, TOO_LARGE
    ),
)
async def post_session(
    body: SessionIn,
    request: Request,
    principal: SessionWriter,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Open a session on an objective (its newest version unless `version`), prefilled
    answers recorded; it answers with the first question. Honours `Idempotency-Key`."""
    user = owner_of(principal)
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    prefill = {
        k: handlers.Prefilled(p.value, p.confidence, p.kind) for k, p in body.prefill.items()
    }
    command = handlers.OpenSession(user, body.objective, body.version, body.title, prefill)
    record = await handlers.open_session(command, uow, deps)
    view = await _view(uow, record)
    headers = {"Location": f"/v1/sessions/{record.id}"}
    return await created(idem, uow, view, version=view.version, headers=headers)


@routes.get("/sessions", response_model=Page[SessionView], responses=errors(BAD_CURSOR))
async def list_sessions(principal: SessionReader, uow: Uow, pages: Pages) -> Page[SessionView]:
    """The caller's sessions, newest first."""
    last = _after_id(pages)
    rows = await uow.sessions.page(owner_of(principal), last, pages.limit)
    page = paginate(rows, pages.limit, lambda r: (str(r.id),))
    return Page[SessionView](
        items=[await _view(uow, r) for r in page.items], next_cursor=page.next_cursor
    )


@routes.get("/sessions/{session_id}", response_model=SessionView, responses=errors(NOT_FOUND))
async def get_session(session_id: UUID, principal: SessionReader, uow: Uow) -> Response:
    """One of the caller's sessions (anyone else's is not found); its ETag is its version."""
    record = await session_of(uow, session_id, owner_of(principal))
    return _tagged(await _view(uow, record))


@routes.post(
    "/sessions/{session_id}/turns",
    status_code=202,
    response_model=TurnAccepted,
    responses=errors(
        (400, "A malformed Idempotency-Key."),
        NOT_FOUND,
        (409, f"{CLOSED}; {BUSY}; or {INACTIVE}."),
        INVALID,
        TOO_LARGE,
    ),
)
async def post_turn(
    session_id: UUID,
    body: TurnIn,
    request: Request,
    principal: SessionWriter,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Say something: the turn is recorded and sent to the model; the session is
    `thinking` until the answer is applied (watch `/events`). Honours `Idempotency-Key`."""
    user = owner_of(principal)
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    command = handlers.TakeTurn(session_id, user, body.content)
    turn = await handlers.take_turn(command, uow, deps)
    accepted = TurnAccepted(turn_id=turn.id, seq=turn.seq)
    response = JSONResponse(accepted.model_dump(mode="json"), status_code=202)
    await idem.save(response)
    await uow.commit()
    return response


@routes.get(
    "/sessions/{session_id}/turns",
    response_model=Page[TurnView],
    responses=errors(BAD_CURSOR, NOT_FOUND),
)
async def list_turns(
    session_id: UUID, principal: SessionReader, uow: Uow, pages: Pages
) -> Page[TurnView]:
    """The conversation, oldest first."""
    after = shaped(pages, Int32)  # turns.seq is an int4
    await session_of(uow, session_id, owner_of(principal))
    seq = None if after is None else cast("int", after[0])
    rows = await uow.turns.page(session_id, seq, pages.limit)
    page = paginate(rows, pages.limit, lambda t: (t.seq,))
    return Page[TurnView](items=[TurnView.of(t) for t in page.items], next_cursor=page.next_cursor)


@routes.get(
    "/sessions/{session_id}/extractions",
    response_model=Page[ExtractionView],
    responses=errors(BAD_CURSOR, NOT_FOUND),
)
async def list_extractions(
    session_id: UUID, principal: SessionReader, uow: Uow, pages: Pages
) -> Page[ExtractionView]:
    """Every value proposed, applied or rejected (with why), oldest first."""
    last = _after_id(pages)
    await session_of(uow, session_id, owner_of(principal))
    rows = await uow.extractions.page(session_id, last, pages.limit)
    page = paginate(rows, pages.limit, lambda e: (str(e.id),))
    return Page[ExtractionView](
        items=[ExtractionView.of(e) for e in page.items], next_cursor=page.next_cursor
    )


@routes.post(
    "/sessions/{session_id}/complete",
    response_model=SessionView,
    responses=errors(
        (403, "Forcing needs discovery:force_complete."),
        NOT_FOUND,
        (409, f"The gate is not met (`gate_not_met`, gaps listed); {CLOSED}; {BUSY}."),
        INVALID,
    ),
)
async def post_complete(
    session_id: UUID, body: CompleteIn, principal: SessionWriter, uow: Uow, deps: AppDeps
) -> Response:
    """Complete the session: when every required obligation meets its confidence, or with
    `force` (by a holder of discovery:force_complete), its gaps listed in the requirements."""
    command = handlers.Complete(
        session_id, owner_of(principal), body.force, principal.has(FORCE), body.reason
    )
    record = await handlers.complete(command, uow, deps)
    view = await _view(uow, record)
    await uow.commit()
    return _tagged(view)


@routes.post(
    "/sessions/{session_id}/abandon",
    response_model=SessionView,
    responses=errors(NOT_FOUND, (409, CLOSED), INVALID),
)
async def post_abandon(
    session_id: UUID, body: AbandonIn, principal: SessionWriter, uow: Uow, deps: AppDeps
) -> Response:
    """Give the session up; an answer still on its way is ignored."""
    record = await handlers.abandon(
        handlers.Abandon(session_id, owner_of(principal), body.note), uow, deps
    )
    view = await _view(uow, record)
    await uow.commit()
    return _tagged(view)


@routes.post(
    "/sessions/{session_id}/reopen",
    response_model=SessionView,
    responses=errors(
        NOT_FOUND,
        (
            409,
            "Only a completed session reopens (`session_not_completed`); the tenant is "
            "suspended or deleted (`tenant_inactive`).",
        ),
        INVALID,
    ),
)
async def post_reopen(
    session_id: UUID, body: ReopenIn, principal: SessionWriter, uow: Uow, deps: AppDeps
) -> Response:
    """A completed session gathers again, so new turns can revise or contradict its values;
    its requirements are cleared until it completes again."""
    record = await handlers.reopen(
        handlers.Reopen(session_id, owner_of(principal), body.reason), uow, deps
    )
    view = await _view(uow, record)
    await uow.commit()
    return _tagged(view)
