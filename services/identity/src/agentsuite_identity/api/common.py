"""The glue every area's routes share: the acting principal, domain errors as problems,
the 201 of a create, the platform-only gate, an org-scoped token's reach, the ETag of a
read."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from enum import Enum
from typing import Any, Protocol, TypeVar
from uuid import UUID

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from agentsuite_identity.deps import Deps
from agentsuite_identity.domain.errors import DomainError
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.auth import Principal
from agentsuite_kit.auth.principal import actor_of
from agentsuite_kit.cause import acting
from agentsuite_kit.http.etag import etag
from agentsuite_kit.http.idempotency import Idempotency, idempotency
from agentsuite_kit.http.pagination import cursor_params
from agentsuite_kit.http.problems import ProblemError, field_problem

pages = cursor_params(default_limit=50, max_limit=200)


@contextmanager
def problems(principal: Principal | None = None) -> Iterator[None]:
    """Run a command as `principal` (its events carry it as their actor); a `DomainError`
    becomes its problem+json, a 422 naming the field the way request validation does."""
    try:
        if principal is None:
            yield
        else:
            with acting(actor_of(principal)):
                yield
    except DomainError as exc:
        raise as_problem(exc) from None


def as_problem(exc: DomainError) -> ProblemError:
    """A rule's refusal as problem+json: its status, code and field."""
    return field_problem(exc.status, exc.detail, code=exc.code, field=exc.field)


class _Own(Enum):
    TENANT = "the principal's own"


_OWN = _Own.TENANT


@asynccontextmanager
async def unit(
    deps: Deps, principal: Principal, tenant: UUID | _Own | None = _OWN
) -> AsyncIterator[IdentityUow]:
    """The unit of work of the principal's tenant (or `tenant`), run under `problems`."""
    scope = principal.tenant if tenant is _OWN else tenant
    with problems(principal):
        async with deps.runtime.uow(scope) as uow:
            yield uow


Made = tuple[BaseModel | dict[str, Any], int | None]
"""What a create made: the body of its 201, and the version its ETag names (if any)."""


async def create(
    deps: Deps,
    request: Request,
    principal: Principal,
    make: Callable[[IdentityUow], Awaitable[Made]],
    tenant: UUID | _Own | None = _OWN,
) -> Response:
    """A create route: `make` runs once per Idempotency-Key; a retry gets the stored 201."""
    async with unit(deps, principal, tenant) as uow:
        idem = await idempotency(request, uow.session, subject=principal.subject)
        if idem.replay is not None:
            return idem.replay
        body, version = await make(uow)
        return await created(idem, uow, body, version=version)


async def created(
    idem: Idempotency,
    uow: IdentityUow,
    body: BaseModel | dict[str, Any],
    *,
    version: int | None = None,
) -> JSONResponse:
    """The 201 of a create, stored with its Idempotency-Key, committed with the effect."""
    content = (
        body.model_dump(mode="json") if isinstance(body, BaseModel) else jsonable_encoder(body)
    )
    headers = {} if version is None else {"ETag": etag(version)}
    response = JSONResponse(content, status_code=201, headers=headers)
    await idem.save(response)
    await uow.commit()
    return response


def platform_only(
    principal: Principal,
    detail: str = "This route is for platform principals.",
    code: str = "platform_only",
) -> Principal:
    """`require(..., platform=True)` admits tenant principals too, and a tenant owner's `*`
    matches platform capabilities: platform routes also refuse any token with a tenant."""
    if principal.tenant_id is not None:
        raise ProblemError(403, detail, code=code)
    return principal


def in_scope(principal: Principal, org_id: UUID | None, detail: str) -> None:
    """An org-scoped token reaches its own org's objects only: any other org's is not
    found to it, as another tenant's is (404)."""
    if not principal.reaches(org_id):
        raise ProblemError(404, detail, code="not_found")


def org_named(principal: Principal, org_id: UUID | None, field: str = "org_id") -> None:
    """A body that names an org (None: the whole tenant) outside the token's scope."""
    if not principal.reaches(org_id):
        raise field_problem(
            403, "The token is scoped to another organization.", code="org_scope", field=field
        )


T = TypeVar("T")


def found(row: T | None, detail: str) -> T:
    """A read of one row: none is a 404."""
    if row is None:
        raise ProblemError(404, detail, code="not_found")
    return row


class _Versioned(Protocol):
    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=_Versioned)


def tagged(response: Response, view: V) -> V:
    """A read or update answers with the version it shows as its ETag (for If-Match)."""
    response.headers["ETag"] = etag(view.version)
    return view
