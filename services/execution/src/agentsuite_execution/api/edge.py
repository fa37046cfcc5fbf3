"""What execution's routes share beyond the kit's edge (`agentsuite_kit.edge`): the named
dependencies of its routes, the body limit its settings set, a run or a 404, the
approver's roles, and the error responses its routes document."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, Request, Response

from agentsuite_execution.api.schemas import ExecutionView
from agentsuite_execution.deps import Deps
from agentsuite_execution.domain.runs import Run
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import (
    BAD_CURSOR,
    INVALID,
    TOO_LARGE,
    app_state,
    bounded,
    errors,
    found,
    gate,
    tagged,
    uow_dependency,
)
from agentsuite_kit.http.contention import RetryingRoute
from agentsuite_kit.http.pagination import CursorParams, cursor_params

deps_of = app_state("deps", Deps)

AppDeps = Annotated[Deps, Depends(deps_of)]
"""The process's `Deps`, which `build()` keeps in `app.state.deps`."""


def _open(request: Request, tenant: UUID) -> ExecutionUow:
    return deps_of(request).uow(tenant)


Uow = Annotated[ExecutionUow, uow_dependency(_open)]
"""The principal's tenant's unit of work (its events name the principal); a route that
writes commits it."""

Reader = Annotated[Principal, gate("executions:read")]
Starter = Annotated[Principal, gate("executions:start")]
Controller = Annotated[Principal, gate("executions:cancel")]
Decider = Annotated[Principal, gate("approvals:decide")]

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The execution's ETag: the command applies only to that version (412).",
    ),
]
"""A plain header the route turns into a version (`expected_version`): as a dependency, a
malformed one (400) would be refused before the body's own errors (422), as it never was."""

StepPages = Annotated[CursorParams, Depends(cursor_params(default_limit=100, max_limit=500))]
LogPages = Annotated[CursorParams, Depends(cursor_params(default_limit=100, max_limit=1000))]


Bounded = bounded(lambda request: deps_of(request).settings.max_request_bytes, RetryingRoute)
"""Refuses a body over the `max_request_bytes` setting with 413 before it is parsed. A
handler whose transaction met another one (a tree's cancel and its runs ending lock runs
in opposite orders) is run again: every effect of these routes is their one transaction."""


async def run_of(uow: ExecutionUow, execution_id: UUID) -> Run:
    """The run, or 404 (another tenant's run is not found either: RLS hides it)."""
    return found(await uow.executions.get(execution_id), f"no execution {execution_id}")


def shown(response: Response, run: Run) -> ExecutionView:
    """The run's representation, its version as the response's ETag."""
    return tagged(response, ExecutionView.of(run))


def roles_of(principal: Principal) -> frozenset[str]:
    """The roles an approval's `role:<name>` is matched against. For now the token's
    `roles` claim; a roles projection would replace this one function."""
    roles: Any = principal.claims.get("roles", [])
    if not isinstance(roles, list):
        return frozenset()
    return frozenset(r for r in roles if isinstance(r, str))


NOT_FOUND = (404, "No such execution in the caller's tenant.")

LIST = errors(BAD_CURSOR, INVALID)
READ = errors(NOT_FOUND, INVALID)
PAGE = errors(BAD_CURSOR, NOT_FOUND, INVALID)
COMMAND = errors(
    (400, "A malformed If-Match."),
    NOT_FOUND,
    (409, "The execution's status does not allow this (`code`: conflict)."),
    (412, "If-Match names another version of the execution."),
    TOO_LARGE,
    INVALID,
)
