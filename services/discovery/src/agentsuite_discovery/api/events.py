"""A session's state as Server-Sent Events while its turns are processed."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent

from agentsuite_discovery.api.edge import AppDeps, SessionReader, Uow, owner_of
from agentsuite_discovery.api.views import SessionView
from agentsuite_discovery.deps import Deps
from agentsuite_discovery.handlers.common import load_view, session_of
from agentsuite_discovery.repositories.sessions import CLOSED
from agentsuite_kit.edge import NOT_FOUND, errors

POLL = 0.2  # seconds between reads of the session's version while nothing changes
EVENT = {
    "type": "object",
    "required": ["id", "event", "data"],
    "properties": {
        "id": {"type": "string", "description": "The session's version."},
        "event": {"type": "string", "enum": ["state"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "The session as JSON (a `SessionView`).",
        },
    },
}

routes = APIRouter(prefix="/v1", tags=["sessions"])


@routes.get(
    "/sessions/{session_id}/events",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "`event: state`, `id:` the session's version, `data:` the session "
            "(a `SessionView`) each time it changes; ends once it is completed or abandoned, "
            "or after the `sse_lifetime_seconds` setting.",
            # OpenAPI before 3.2: `schema` describes one event of the stream
            "content": {"text/event-stream": {"schema": EVENT}},
        },
        **errors(NOT_FOUND),
    },
)
async def stream_session(
    session_id: UUID, principal: SessionReader, uow: Uow, deps: AppDeps
) -> EventSourceResponse:
    """The session as it changes: its state now, then after each change."""
    user = owner_of(principal)
    await session_of(uow, session_id, user)
    return EventSourceResponse(
        _stream(deps, principal.tenant, session_id, user), ping=deps.settings.sse_keepalive
    )


async def _stream(
    deps: Deps, tenant: UUID, session_id: UUID, user: UUID
) -> AsyncIterator[ServerSentEvent]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deps.settings.sse_lifetime_seconds
    sent = 0
    while loop.time() < deadline:
        async with deps.runtime.uow(tenant) as uow:
            now = await uow.sessions.version(session_id)
            if now is None:
                return
            version, status = now
            if version != sent:
                record = await uow.sessions.get(session_id)
                if record is None or record.user_id != user:
                    return
                view = SessionView.model_validate(await load_view(uow, record))
                sent = view.version
                yield ServerSentEvent(
                    data=view.model_dump_json(), event="state", id=str(view.version)
                )
                if view.status in CLOSED:
                    return
            elif status in CLOSED:
                return
        await asyncio.sleep(POLL)
