"""discovery's named dependencies, declared once on the kit's edge (`agentsuite_kit.edge`):
what a route needs arrives as a parameter, so every router is a module-level one."""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Request

from agentsuite_discovery.deps import Deps
from agentsuite_discovery.uow import DiscoveryUow
from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import app_state, bounded, gate, subject_id, uow_dependency
from agentsuite_kit.errors import Forbidden

deps_of = app_state("deps", Deps)


def _open(request: Request, tenant: UUID) -> DiscoveryUow:
    return deps_of(request).runtime.uow(tenant)


AppDeps = Annotated[Deps, Depends(deps_of)]
"""The process's `Deps` (`app.build` puts it on the app)."""
Bounded = bounded(lambda request: deps_of(request).settings.max_request_bytes)
"""Every router's route class: a body over the `max_request_bytes` setting is a 413."""
Uow = Annotated[DiscoveryUow, uow_dependency(_open)]
"""The principal's tenant's unit of work, acting as the principal; the route commits it."""
ObjectiveReader = Annotated[Principal, gate("objectives:read")]
ObjectiveWriter = Annotated[Principal, gate("objectives:write")]
SessionReader = Annotated[Principal, gate("sessions:read")]
SessionWriter = Annotated[Principal, gate("sessions:write")]
FORCE = "discovery:force_complete"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="A retry with the same key and body gets the first response.",
    ),
]


def owner_of(principal: Principal) -> UUID:
    """Whose sessions the caller's are: the subject a session belongs to (a user, or the
    API key or service account acting); a token naming no such subject is refused."""
    subject = subject_id(principal)
    if subject is None:
        raise Forbidden("subject_required", "discovery sessions belong to a user or a key")
    return subject
