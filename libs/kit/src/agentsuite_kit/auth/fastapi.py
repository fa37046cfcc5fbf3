"""FastAPI glue: bearer token to `Principal`, and capability gates that fail as problem+json.

No `from __future__ import annotations` here: FastAPI must resolve the `Depends` targets that
`require` closes over, which string annotations would hide.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agentsuite_kit.auth.errors import AuthCode, AuthError
from agentsuite_kit.auth.principal import Principal
from agentsuite_kit.http.problems import ProblemError

STATE_ATTR = "keyset"
"""`app.state.keyset` is where `current_principal` finds its verifier."""


class Authenticator(Protocol):
    async def authenticate(self, token: str) -> Principal: ...


# auto_error off: a missing token must answer as problem+json, not FastAPI's own 403 body.
_bearer = HTTPBearer(auto_error=False)


def _unauthorized(error: AuthError | None) -> ProblemError:
    if error is None:
        # RFC 6750 §3.1: no error code when the request carried no credentials at all.
        return ProblemError(
            401,
            "A bearer token is required.",
            headers={"WWW-Authenticate": "Bearer"},
            code=AuthCode.MISSING.value,
        )
    if error.code is AuthCode.JWKS_UNAVAILABLE:
        # The issuer is unreachable: the caller's token may be fine, so this is not a 401.
        return ProblemError(503, error.detail, headers={"Retry-After": "5"}, code=error.code.value)
    return ProblemError(
        401,
        error.detail,
        headers={
            "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{error.detail}"'
        },
        code=error.code.value,
    )


def principal_dependency(
    keyset: Authenticator | None = None,
) -> Callable[..., Awaitable[Principal]]:
    """Verify the bearer token with `keyset`, or with `app.state.keyset` when none is given."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        verifier: Authenticator | None = (
            keyset if keyset is not None else getattr(request.app.state, STATE_ATTR, None)
        )
        if verifier is None:
            raise RuntimeError(f"no token verifier: pass one or set app.state.{STATE_ATTR}")
        if credentials is None or not credentials.credentials:
            raise _unauthorized(None)
        try:
            principal = await verifier.authenticate(credentials.credentials)
        except AuthError as exc:
            raise _unauthorized(exc) from None
        request.state.principal = principal
        return principal

    return dependency


current_principal = principal_dependency()


def require(
    *capabilities: str, keyset: Authenticator | None = None
) -> Callable[..., Awaitable[Principal]]:
    """A dependency that returns the principal only if it holds every one of `capabilities`."""
    base = current_principal if keyset is None else principal_dependency(keyset)

    async def dependency(principal: Annotated[Principal, Depends(base)]) -> Principal:
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
