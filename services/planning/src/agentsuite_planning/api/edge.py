"""planning's named dependencies, declared once on the kit's edge (`agentsuite_kit.edge`):
what a route needs arrives as a parameter, so every router is a module-level one."""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Request

from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import app_state, bounded, gate, uow_dependency
from agentsuite_planning.deps import Deps
from agentsuite_planning.uow import PlanningUow

deps_of = app_state("deps", Deps)


def _open(request: Request, tenant: UUID) -> PlanningUow:
    return deps_of(request).runtime.uow(tenant)


AppDeps = Annotated[Deps, Depends(deps_of)]
"""The process's `Deps` (`app.build` puts it on the app)."""
Bounded = bounded(lambda request: deps_of(request).settings.max_request_bytes)
"""Every router's route class: a body over the `max_request_bytes` setting is a 413."""
Uow = Annotated[PlanningUow, uow_dependency(_open)]
"""The principal's tenant's unit of work, acting as the principal; the route commits it."""
Reader = Annotated[Principal, gate("plans:read")]
Writer = Annotated[Principal, gate("plans:write")]
Approver = Annotated[Principal, gate("plans:approve")]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="A retry with the same key and body gets the first response.",
    ),
]
IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The ETag read: the write happens only on top of it (412 otherwise).",
    ),
]

# --- triggers (owner: plan-triggers) -------------------------------------------------------
PlanReader = Annotated[Principal, gate("plans:read")]
TriggerWriter = Annotated[Principal, gate("triggers:write")]
RunStarter = Annotated[Principal, gate("executions:start")]
