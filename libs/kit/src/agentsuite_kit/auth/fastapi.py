"""FastAPI glue: bearer token to `Principal`, and capability gates that fail as problem+json.

Tenant routes are the default: `current_principal` and `require(...)` refuse a principal
without a tenant (403 `tenant_required`); a route that serves platform or service principals
says so with `require(..., platform=True)`.

Tenant-wide routes are the default too: a token scoped to an org (`Principal.org_id`, claim
`org`) is refused with 403 `org_scope` unless the route declares `org=True`, which it may
only do when it confines what it reads and changes to `principal.org_id` itself (issue 21).

No `from __future__ import annotations` here: FastAPI must resolve the `Depends` targets that
`require` closes over, which string annotations would hide.
"""

import re
import weakref
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import Mount

from agentsuite_kit.auth.errors import AuthCode, AuthError
from agentsuite_kit.auth.principal import Principal
from agentsuite_kit.http.problems import ProblemError

STATE_ATTR = "keyset"
"""`app.state.keyset` is where `current_principal` finds its verifier."""


class Authenticator(Protocol):
    async def authenticate(self, token: str) -> Principal: ...


# auto_error off: a missing token must answer as problem+json, not FastAPI's own 403 body.
_bearer = HTTPBearer(auto_error=False)

# Dependencies that look up `app.state.keyset`, so `require_verifier` can find the routes
# that would fail per request; weak so per-call `require(...)` closures are not kept alive.
_from_state: "weakref.WeakSet[Callable[..., Any]]" = weakref.WeakSet()

_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def _quoted(text: str) -> str:
    """An RFC 9110 quoted-string: the detail must not end the header or the quote early."""
    clean = _UNSAFE.sub(" ", text).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{clean}"'


def auth_problem(error: AuthError | None) -> ProblemError:
    """A refused (or missing, None) bearer credential as its problem+json: 401, or 429 for
    a key over its rate limit, or 503 when the issuer cannot be asked. Routes that read
    the token themselves answer with this too, so every door says the same."""
    if error is None:
        # RFC 6750 §3.1: no error code when the request carried no credentials at all.
        return ProblemError(
            401,
            "A bearer token is required.",
            headers={"WWW-Authenticate": "Bearer"},
            code=AuthCode.MISSING.value,
        )
    if error.code is AuthCode.RATE_LIMITED:
        # RFC 6585 §4: the credential is fine, its holder must wait
        wait = str(error.retry_after or 1)
        return ProblemError(429, error.detail, headers={"Retry-After": wait}, code=error.code.value)
    if error.code is AuthCode.JWKS_UNAVAILABLE:
        # The issuer is unreachable: the caller's token may be fine, so this is not a 401.
        return ProblemError(503, error.detail, headers={"Retry-After": "5"}, code=error.code.value)
    return ProblemError(
        401,
        error.detail,
        headers={
            "WWW-Authenticate": (
                f'Bearer error="invalid_token", error_description={_quoted(error.detail)}'
            )
        },
        code=error.code.value,
    )


def _tenant_required() -> ProblemError:
    return ProblemError(
        403,
        "This route acts for a tenant and the token names none.",
        code=AuthCode.TENANT_REQUIRED.value,
    )


def _org_scope() -> ProblemError:
    return ProblemError(
        403,
        "This route acts for the whole tenant and the token is scoped to one organization.",
        code=AuthCode.ORG_SCOPE.value,
    )


def confined(principal: Principal, org: bool) -> Principal:
    """`principal`, unless it is scoped to an org and the route (`org` False) is the
    tenant's: the check `require(...)` makes, for routes that read the token themselves."""
    if principal.org_id is not None and not org:
        raise _org_scope()
    return principal


def principal_dependency(
    keyset: Authenticator | None = None, *, platform: bool = False, org: bool = False
) -> Callable[..., Awaitable[Principal]]:
    """Verify the bearer token with `keyset`, or with `app.state.keyset` when none is given.

    Unless `platform`, a principal without a tenant is refused with 403 `tenant_required`;
    unless `org`, a principal scoped to an org is refused with 403 `org_scope`.
    """

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        verifier: Authenticator | None = (
            keyset if keyset is not None else getattr(request.app.state, STATE_ATTR, None)
        )
        if verifier is None:
            # `require_verifier` turns this into a startup failure; this is the backstop.
            raise RuntimeError(f"no token verifier: pass one or set app.state.{STATE_ATTR}")
        if credentials is None or not credentials.credentials:
            raise auth_problem(None)
        try:
            principal = await verifier.authenticate(credentials.credentials)
        except AuthError as exc:
            raise auth_problem(exc) from None
        if principal.tenant_id is None and not platform:
            raise _tenant_required()
        confined(principal, org)
        request.state.principal = principal
        return principal

    if keyset is None:
        _from_state.add(dependency)
    return dependency


# The shared bases admit org-scoped tokens; `current_principal` and each `require(...)`
# gate make the org check themselves, so one request verifies its token once whatever mix
# of tenant-wide and org-confined gates its route has.
_tenant_principal = principal_dependency(org=True)
_platform_principal = principal_dependency(platform=True, org=True)


async def current_principal(
    principal: Annotated[Principal, Depends(_tenant_principal)],
) -> Principal:
    """The verified principal of a tenant-wide route (no capability asked)."""
    return confined(principal, False)


def require(
    *capabilities: str,
    keyset: Authenticator | None = None,
    platform: bool = False,
    org: bool = False,
) -> Callable[..., Awaitable[Principal]]:
    """A dependency that returns the principal only if it holds every one of `capabilities`.

    `platform=True` also admits principals without a tenant (platform and service tokens);
    such a route must not read `principal.tenant` unguarded. `org=True` admits a token
    scoped to an org: the route itself must then confine what it reads and changes to
    `principal.org_id` (`Principal.reaches`); without it such a token gets 403 `org_scope`.
    """
    if keyset is not None:
        base = principal_dependency(keyset, platform=platform, org=True)
    else:
        # Shared callables let FastAPI verify the token once per request across gates.
        base = _platform_principal if platform else _tenant_principal

    async def dependency(principal: Annotated[Principal, Depends(base)]) -> Principal:
        confined(principal, org)
        missing = principal.missing(*capabilities)
        if missing:
            raise ProblemError(
                403,
                f"Missing capability: {', '.join(missing)}.",
                headers={
                    "WWW-Authenticate": (
                        f'Bearer error="insufficient_scope", scope="{" ".join(capabilities)}"'
                    )
                },
                code="insufficient_capability",
                missing=missing,
            )
        return principal

    return dependency


def require_verifier(app: FastAPI) -> None:
    """Raise at startup if a route needs `app.state.keyset` and none is set.

    Without this, a service missing its JWKS URL starts fine and answers 500 to every
    authenticated request; the runtime calls it once the app and its state are built.
    """
    routes = sorted(set(_protected(app)))
    if routes:
        shown = ", ".join(routes[:5]) + (f" and {len(routes) - 5} more" if len(routes) > 5 else "")
        raise RuntimeError(
            f"no token verifier: app.state.{STATE_ATTR} is None, yet {shown} require a bearer "
            "token; configure the service's JWKS URL (or pass `keyset=` to `require`)"
        )


def _protected(app: FastAPI, prefix: str = "") -> Iterator[str]:
    """Routes of `app` (and of apps mounted in it) that need a verifier their app lacks."""
    # A mounted app resolves `request.app` to itself, so each app's own state must hold one.
    missing = getattr(app.state, STATE_ATTR, None) is None
    # The same walk FastAPI's OpenAPI export makes: included routers carry their own
    # dependencies and prefixes, which only the route contexts show.
    for context in iter_route_contexts(app.router.routes):
        dependant = getattr(context, "dependant", None)
        original = context.original_route
        if isinstance(dependant, Dependant):
            if missing and _uses_state(dependant):
                methods = ",".join(sorted(context.methods or {"WS"}))
                yield f"{methods} {prefix}{context.path}"
        elif isinstance(original, Mount) and isinstance(original.app, FastAPI):
            yield from _protected(original.app, prefix + original.path)


def _uses_state(dependant: Dependant) -> bool:
    if dependant.call is not None and dependant.call in _from_state:
        return True
    return any(_uses_state(d) for d in dependant.dependencies)
