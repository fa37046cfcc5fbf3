"""The hot path's front door: `POST /v1/chat/completions` and `POST /v1/embeddings` served
before FastAPI's dependency injection and the kit's middleware stack.

Measured in bench/llm_gateway.py (py-spy, c=32): of ~2 ms of server CPU per proxied call,
about 0.9 ms was framework (dependency solving, nine middleware layers, send wrappers) and
0.15 ms the gateway's own logic. This ASGI middleware answers the two routes with the same
functions the FastAPI routes call (`chat_response`, `embeddings_response`), after the kit's
own bearer verification and capability check (the dependencies `require("llm:invoke")` is
made of, called directly), so a request behaves the same whichever door it comes through;
the FastAPI routes remain for OpenAPI and as the fallback when the fast path is switched
off (`fast_path=False`). What it skips: the kit's per-request HTTP metrics and
correlation-id context (the gateway's traces and `/metrics` recorder series still count
every call).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi.security import HTTPBearer
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from agentsuite_kit.auth.fastapi import principal_dependency, require
from agentsuite_kit.auth.principal import Principal
from agentsuite_kit.http.problems import ProblemError
from agentsuite_llm_gateway.api.errors import on_problem, on_unhandled
from agentsuite_llm_gateway.api.openai import ORG_CONFINED, chat_response, embeddings_response

if TYPE_CHECKING:
    from agentsuite_llm_gateway.deps import Deps

log = logging.getLogger(__name__)

CAPABILITY = "llm:invoke"
# the kit's parts of `require(CAPABILITY, org=ORG_CONFINED)`: the bearer token read as
# FastAPI reads it, verified (a tenant required), then the org and capability gate
_bearer = HTTPBearer(auto_error=False)
_verified = principal_dependency(org=True)
_invoke = require(CAPABILITY, org=ORG_CONFINED)
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
        """What the routes' `require("llm:invoke", org=ORG_CONFINED)` checks, by the kit."""
        return await _invoke(await _verified(request, await _bearer(request)))
