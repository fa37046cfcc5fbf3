"""Turn exceptions that escape the app into a 500 problem inside the middleware stack."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentsuite_kit.http.contention import contention_response
from agentsuite_kit.http.problems import internal_error_response
from agentsuite_kit.messaging.errors import is_contention

log = logging.getLogger(__name__)


class CatchAllMiddleware:
    """Starlette answers unhandled errors in its outermost middleware, past metrics and the
    correlation id; catching them innermost lets those still see and tag the 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise  # half a response is already out; let the server drop the connection
            if is_contention(exc):
                # it met another request: the client sends it again, nothing is broken
                log.warning("transaction aborted by contention: %s", exc)
                await contention_response()(scope, receive, send)
                return
            log.exception("unhandled error")
            await internal_error_response()(scope, receive, send)
