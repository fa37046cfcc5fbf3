"""The hot path's front door: `POST /v1/chat/completions` and `POST /v1/embeddings` served
before FastAPI's dependency injection and the kit's middleware stack.

Measured in bench/llm_gateway.py (py-spy, c=32): of ~2 ms of server CPU per proxied call,
about 0.9 ms was framework (dependency solving, nine middleware layers, send wrappers) and
0.15 ms the gateway's own logic. This ASGI middleware answers the two routes with the same
functions the FastAPI routes call (`chat_response`, `embeddings_response`), after the same
bearer verification and capability check that `require("llm:invoke")` makes, so a request
behaves the same whichever door it comes through; the FastAPI routes remain for OpenAPI and
as the fallback when the fast path is switched off (`fast_path=False`). What it skips:
the kit's per-request HTTP metrics and correlation-id context (the gateway's traces and
`/metrics` recorder series still count every call).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from agentsuite_kit.auth.errors import AuthCode, AuthError
from agentsuite_kit.auth.fastapi import STATE_ATTR, auth_problem, confined
from agentsuite_kit.auth.principal import Principal
from agentsuite_kit.http.problems import ProblemError
from agentsuite_llm_gateway.api.errors import on_problem, on_unhandled
from agentsuite_llm_gateway.api.openai import ORG_CONFINED, chat_response, embeddings_response

if TYPE_CHECKING:
    from agentsuite_llm_gateway.deps import Deps

log = logging.getLogger(__name__)

CAPABILITY = "llm:invoke"
SERVED = {
    "/v1/chat/completions": chat_response,
    "/v1/embeddings": embeddings_response,
}


class FastPath:
    def __init__(self, app: ASGIApp, deps: Deps) -> None:
        self.app = app
        self.deps = deps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        serve = SERVED.get(scope["path"]) if scope["type"] == "http" else None
        if serve is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            principal = await self._principal(request)
            response = await serve(request, principal, self.deps)
        except ProblemError as exc:
            response = await on_problem(request, exc)
        except Exception as exc:  # answered like any unforeseen fault
            response = await on_unhandled(request, exc)
        await response(scope, receive, send)

    async def _principal(self, request: Request) -> Principal:
        """What `require("llm:invoke", org=ORG_CONFINED)` checks, in the same words."""
        authenticator = getattr(request.app.state, STATE_ATTR, None)
        if authenticator is None:
            raise RuntimeError(f"no token verifier: app.state.{STATE_ATTR} is not set")
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ProblemError(
                401,
                "A bearer token is required.",
                headers={"WWW-Authenticate": "Bearer"},
                code=AuthCode.MISSING.value,
            )
        try:
            principal: Principal = await authenticator.authenticate(token.strip())
        except AuthError as exc:
            # the kit's answer (401, 429 for a key over its limit, 503), not a copy of it
            raise auth_problem(exc) from None
        if principal.tenant_id is None:
            raise ProblemError(
                403,
                "This route acts for a tenant and the token names none.",
                code=AuthCode.TENANT_REQUIRED.value,
            )
        confined(principal, ORG_CONFINED)
        if not principal.has(CAPABILITY):
            raise ProblemError(
                403,
                f"Missing capability: {CAPABILITY}.",
                headers={
                    "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{CAPABILITY}"'
                },
                code="insufficient_capability",
                missing=[CAPABILITY],
            )
        return principal
