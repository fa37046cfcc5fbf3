"""The edge a service's routes share, written once: named dependencies, the acting principal,
domain refusals as problems, the 201 of a create, ETags, pagination, the body limit and the
problem responses a route documents.

A service declares its named dependencies once, at module level, and its routers are
module-level too (no `router(deps)` closures): what a route needs arrives as a parameter.

    AppDeps = Annotated[Deps, Depends(app_state("deps", Deps))]
    Uow = Annotated[MyUow, uow_dependency(lambda request, tenant:
                                          request.app.state.deps.runtime.uow(tenant))]
    Reader = Annotated[Principal, gate("plans:read")]

    routes = APIRouter(prefix="/v1", tags=["plans"], route_class=bounded(1 << 20))

    @routes.post("/plans", status_code=201, responses=errors(INVALID, TOO_LARGE))
    async def create_plan(body: PlanIn, request: Request, principal: Writer, uow: UnitLike,
                          deps: AppDeps) -> Response:
        return await create(request, uow, principal,
                            lambda: handlers.create_plan(body.command(), uow, deps))

No `from __future__ import annotations` here: FastAPI must resolve the dependencies these
factories close over, which string annotations would hide.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import Annotated, Any, Protocol, TypeVar
from uuid import UUID

from fastapi import Depends, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from agentsuite_kit.auth.fastapi import current_principal, require
from agentsuite_kit.auth.principal import Principal, PrincipalKind, actor_of
from agentsuite_kit.cause import acting
from agentsuite_kit.db.scoped import ScopedConnection
from agentsuite_kit.errors import DomainError, Forbidden, NotFound
from agentsuite_kit.http.etag import IF_MATCH, Precondition, etag, if_match, parse
from agentsuite_kit.http.idempotency import Idempotency, idempotency
from agentsuite_kit.http.numbers import ascii_int
from agentsuite_kit.http.pagination import CursorParams, cursor_params
from agentsuite_kit.http.problems import MEDIA_TYPE, ProblemError, domain_problem

__all__ = [
    "BAD_CURSOR",
    "INVALID",
    "NOT_FOUND",
    "TOO_LARGE",
    "CurrentPrincipal",
    "IfMatch",
    "Made",
    "OptionalIfMatch",
    "Pages",
    "UnitLike",
    "Versioned",
    "app_state",
    "bounded",
    "create",
    "created",
    "errors",
    "expected_version",
    "found",
    "gate",
    "problems",
    "read_body",
    "subject_id",
    "tagged",
    "tenant_uow",
    "too_large",
    "uow_dependency",
    "user_id_of",
    "user_required",
]

T = TypeVar("T")
U = TypeVar("U")


class UnitLike(Protocol):
    """What the edge needs of a unit of work (the kit's `UnitOfWork` is one)."""

    @property
    def session(self) -> ScopedConnection: ...

    async def commit(self) -> None: ...


# --- named dependencies -------------------------------------------------------------------

CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
"""The verified principal of a tenant-wide route that asks no capability."""


def gate(*capabilities: str, platform: bool = False, org: bool = False) -> Any:
    """`Depends(require(...))`, for a module-level alias naming a route's gate:
    `Reader = Annotated[Principal, gate("users:read")]` (see `require` for the flags)."""
    return Depends(require(*capabilities, platform=platform, org=org))


def app_state(name: str, kind: type[T]) -> Callable[[Request], T]:
    """A dependency giving `app.state.<name>` (the service's `Deps`), so module-level routes
    reach what `build()` made: `AppDeps = Annotated[Deps, Depends(app_state("deps", Deps))]`."""

    def dependency(request: Request) -> T:
        value = getattr(request.app.state, name, None)
        if not isinstance(value, kind):
            # a wiring mistake, not a client's: build() must set it before serving
            raise RuntimeError(f"app.state.{name} is not a {kind.__name__}: {value!r}")
        return value

    return dependency


Opener = Callable[[Request, UUID], AbstractAsyncContextManager[U]]
"""How a service opens its unit of work for a tenant, given the request (to reach its deps)."""


def tenant_uow(open_uow: Opener[U], *, org: bool = False) -> Callable[..., AsyncIterator[U]]:
    """A dependency giving a unit of work of the principal's tenant, opened under
    `problems(principal)` (its events name the principal as their actor) and closed when
    the route returns, before the response is sent; the route commits it. Declare it with
    `Depends(..., scope="function")`, or use `uow_dependency`. Like `current_principal`
    it refuses an org-scoped token unless `org` (the route then confines itself)."""

    # the same token check as the route's gate (FastAPI verifies the token once per request)
    gatekeeper = require(org=True) if org else current_principal

    async def dependency(
        request: Request, principal: Annotated[Principal, Depends(gatekeeper)]
    ) -> AsyncIterator[U]:
        with problems(principal):
            async with open_uow(request, principal.tenant) as uow:
                yield uow

    return dependency


def uow_dependency(open_uow: Opener[U], *, org: bool = False) -> Any:
    """`Depends(tenant_uow(open_uow, org=org), scope="function")`: for a module-level
    `Uow = Annotated[MyUow, uow_dependency(...)]`. Function scope: the connection goes
    back to the pool before the response is written, not after a slow client read it."""
    return Depends(tenant_uow(open_uow, org=org), scope="function")


# --- who is calling -----------------------------------------------------------------------


def subject_id(principal: Principal) -> UUID | None:
    """The principal's subject as a UUID (a user's, a key's, a service account's id), or
    None when the subject is not one (a platform token's name)."""
    try:
        return UUID(principal.subject)
    except ValueError:
        return None


def user_id_of(principal: Principal) -> UUID | None:
    """The principal's user id: a user's token whose subject is one; None for any other."""
    return subject_id(principal) if principal.kind is PrincipalKind.USER else None


def user_required(
    principal: Principal,
    message: str = "Only a user may do this.",
    code: str = "user_required",
) -> UUID:
    """The user id of a route only a person may call; anyone else is refused (403)."""
    user = user_id_of(principal)
    if user is None:
        raise Forbidden(code, message)
    return user


# --- errors ------------------------------------------------------------------------------


@contextmanager
def problems(principal: Principal | None = None) -> Iterator[None]:
    """Run a command as `principal` (the events it emits carry it as their actor); a
    `DomainError` leaves as its problem+json (`domain_problem`), so a route that catches
    `ProblemError`, or a middleware, sees one shape."""
    try:
        if principal is None:
            yield
        else:
            with acting(actor_of(principal)):
                yield
    except DomainError as exc:
        raise domain_problem(exc) from None


def found(row: T | None, message: str, code: str = "not_found") -> T:
    """A read of one thing: none is a 404 (another tenant's is not found either)."""
    if row is None:
        raise NotFound(code, message)
    return row


def errors(*described: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """A route's documented error responses, each a problem+json with what it means there:
    `responses=errors(NOT_FOUND, (409, "The plan is running."))`."""
    ref = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {"description": text, "content": {MEDIA_TYPE: {"schema": ref}}}
        for status, text in described
    }


NOT_FOUND = (404, "No such resource in the caller's tenant.")
INVALID = (422, "A parameter or field is invalid; `errors` names it.")
BAD_CURSOR = (400, "A cursor this service did not issue.")
TOO_LARGE = (413, "The body is over the size limit.")


# --- creates, versions, pages ---------------------------------------------------------------

Made = tuple[BaseModel | dict[str, Any], int | None]
"""What a create made: the body of its 201, and the version its ETag names (if any)."""


async def created(
    idem: Idempotency,
    uow: UnitLike,
    body: BaseModel | dict[str, Any],
    *,
    version: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The 201 of a create, stored with its Idempotency-Key, committed with the effect."""
    content = (
        body.model_dump(mode="json") if isinstance(body, BaseModel) else jsonable_encoder(body)
    )
    sent = dict(headers or {})
    if version is not None:
        sent["ETag"] = etag(version)
    response = JSONResponse(content, status_code=201, headers=sent)
    await idem.save(response)
    await uow.commit()
    return response


async def create(
    request: Request, uow: UnitLike, principal: Principal, make: Callable[[], Awaitable[Made]]
) -> Response:
    """A create route: `make` runs once per Idempotency-Key (in `uow`, with the key); a
    retry gets the stored 201 with `Idempotent-Replayed: true`."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    body, version = await make()
    return await created(idem, uow, body, version=version)


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=Versioned)


def tagged(response: Response, view: V) -> V:
    """A read or update answers with the version it shows as its ETag (for If-Match)."""
    response.headers["ETag"] = etag(view.version)
    return view


IfMatch = Annotated[Precondition, Depends(if_match())]
"""A write's If-Match, required (428 without it); `.check(version)` answers 412."""
OptionalIfMatch = Annotated[Precondition, Depends(if_match(required=False))]


def expected_version(header: str | None) -> int | None:
    """The version an If-Match asks for, for a `WHERE version = :v` write (None: no header,
    or `*`). A tag that cannot be a version (weak, not a number, several) asks for one no
    resource has, -1: a 412, never ignored. A malformed header is a 400."""
    if header is None:
        return None
    tags = parse(header, IF_MATCH)
    if tags == "*":
        return None
    version = ascii_int(tags[0].opaque) if len(tags) == 1 and not tags[0].weak else None
    return -1 if version is None else version


Pages = Annotated[CursorParams, Depends(cursor_params(default_limit=50, max_limit=200))]
"""`?cursor=&limit=` (50 by default, at most 200); a bad cursor is a 400 `invalid_cursor`."""


# --- the body limit ------------------------------------------------------------------------


def too_large(limit: int) -> ProblemError:
    return ProblemError(413, f"The body is over {limit} bytes.", code="body_too_large")


async def read_body(
    request: Request, limit: int, *, refuse: Callable[[int], Exception] = too_large
) -> bytes:
    """The request's body, refused with `refuse(limit)` (a 413 problem by default) once
    over `limit` bytes: the declared length first, then the stream piece by piece, so a
    body sent without a length stops at the limit, not at its end. Starlette's
    `request.body()` returns what was read from then on."""
    declared = request.headers.get("content-length")
    length = None if declared is None else ascii_int(declared)
    if length is not None and length > limit:
        raise refuse(limit)
    parts: list[bytes] = []
    size = 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise refuse(limit)
        parts.append(part)
    body = b"".join(parts)
    # Starlette keeps the body it read itself here: FastAPI then parses these bytes
    request._body = body
    return body


def bounded(
    limit: int | Callable[[Request], int], base: type[APIRoute] = APIRoute
) -> type[APIRoute]:
    """A route class (`APIRouter(route_class=bounded(n))`) that refuses a POST, PUT or
    PATCH body over `limit` bytes with 413 before FastAPI parses it. `limit` may be a
    function of the request (a module-level router reads the app's setting per request:
    `bounded(lambda r: deps_of(r).settings.max_request_bytes)`). `base` is the route class
    it extends (`RetryingRoute`, for handlers that may run again on contention)."""
    limit_of = limit if callable(limit) else (lambda _request: limit)

    class Bounded(base):  # type: ignore[valid-type,misc]  # a class built on a parameter
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handle: Callable[[Request], Coroutine[Any, Any, Response]]
            handle = super().get_route_handler()

            async def bounded_handler(request: Request) -> Response:
                if request.method in ("POST", "PUT", "PATCH"):
                    await read_body(request, limit_of(request))
                return await handle(request)

            return bounded_handler

    Bounded.__name__ = Bounded.__qualname__ = f"Bounded{base.__name__}"
    return Bounded
