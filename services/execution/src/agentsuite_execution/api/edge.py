"""What every route of the edge shares: the body limit, the acting principal's unit of work,
a run or a 404, ETags and If-Match."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from fastapi import Request, Response
from fastapi.routing import APIRoute

from agentsuite_execution.api.schemas import ExecutionView
from agentsuite_execution.deps import Deps
from agentsuite_execution.domain.errors import RunError
from agentsuite_execution.domain.runs import Run
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.auth import Principal, PrincipalKind
from agentsuite_kit.auth.principal import actor_of
from agentsuite_kit.cause import acting
from agentsuite_kit.http.contention import RetryingRoute
from agentsuite_kit.http.etag import IF_MATCH, etag, parse
from agentsuite_kit.http.numbers import ascii_int
from agentsuite_kit.http.problems import ProblemError


def bounded(limit: int) -> type[APIRoute]:
    """A route class that refuses a body over `limit` bytes with 413 before it is parsed:
    the declared length is checked first, then the stream is read piece by piece, so a body
    sent without a length stops at the limit, not at its end. A handler whose transaction
    met another one (a tree's cancel and its runs ending lock runs in opposite orders) is
    run again: every effect of these routes is their one transaction."""

    class Bounded(RetryingRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handle = super().get_route_handler()

            async def bounded_handler(request: Request) -> Response:
                if request.method in ("POST", "PUT", "PATCH"):
                    await _read(request, limit)
                return await handle(request)

            return bounded_handler

    return Bounded


async def _read(request: Request, limit: int) -> None:
    too_big = ProblemError(413, f"The body is over {limit} bytes.", code="body_too_large")
    declared = request.headers.get("content-length")
    length = None if declared is None else ascii_int(declared)
    if length is not None and length > limit:
        raise too_big
    parts: list[bytes] = []
    size = 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise too_big
        parts.append(part)
    # Starlette's Request.body() returns this from now on: FastAPI parses what was read here
    request._body = b"".join(parts)


@asynccontextmanager
async def unit(deps: Deps, principal: Principal) -> AsyncIterator[ExecutionUow]:
    """The principal's tenant's unit of work; the events it emits name the principal."""
    with acting(actor_of(principal)):
        async with deps.uow(principal.tenant) as uow:
            yield uow


async def found(uow: ExecutionUow, execution_id: UUID) -> Run:
    """The run, or 404 (another tenant's run is not found either: RLS hides it)."""
    run = await uow.executions.get(execution_id)
    if run is None:
        raise RunError("not_found", f"no execution {execution_id}")
    return run


def shown(response: Response, run: Run) -> ExecutionView:
    """The run's representation, its version as the response's ETag."""
    response.headers["ETag"] = etag(run.version)
    return ExecutionView.of(run)


def expected(if_match: str | None) -> int | None:
    """The version If-Match asks for (None: no header, or `*`). A tag that cannot be a
    version (weak, not a number, several) asks for one no run has: 412, never ignored."""
    if if_match is None:
        return None
    tags = parse(if_match, IF_MATCH)
    if tags == "*":
        return None
    version = ascii_int(tags[0].opaque) if len(tags) == 1 and not tags[0].weak else None
    return -1 if version is None else version


def user_id(principal: Principal) -> UUID | None:
    """The principal's user id, when it is a user whose subject is one."""
    if principal.kind != PrincipalKind.USER:
        return None
    try:
        return UUID(principal.subject)
    except ValueError:
        return None


def roles_of(principal: Principal) -> frozenset[str]:
    """The roles an approval's `role:<name>` is matched against. For now the token's
    `roles` claim; a roles projection would replace this one function."""
    roles: Any = principal.claims.get("roles", [])
    if not isinstance(roles, list):
        return frozenset()
    return frozenset(r for r in roles if isinstance(r, str))
