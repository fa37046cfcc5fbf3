"""A request whose transaction PostgreSQL aborted because it met another one (a deadlock,
40P01, or a serialization failure, 40001): nothing is wrong with the request, the same
work run again will very likely pass. The consumers retry such messages in place
(messaging/errors.py); at the edge it is never a 500:

- every route answers 503 problem+json (`code: contention`) with Retry-After, so a client
  knows to send it again (`contention_response`, used by the catch-all);
- a route whose handler may simply run again (its effects are its one transaction, rolled
  back by the abort) uses `RetryingRoute`, which runs the handler again a few times first.
  Not the default: a handler that also called out (an upstream LLM, a webhook) must not
  repeat that call.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from agentsuite_kit.http.problems import ProblemError, problem_response
from agentsuite_kit.messaging.errors import is_contention

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1
ATTEMPTS = 3
# the first retry waits up to this long, each further one twice as long: the other
# transaction usually commits within milliseconds
_FIRST_WAIT = 0.02


def contention_error() -> ProblemError:
    """The 503 of a request that met another one, for edges that shape their own errors."""
    return ProblemError(
        503,
        "The request met a concurrent one on the same data; send it again.",
        code="contention",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def contention_response() -> Response:
    error = contention_error()
    return problem_response(error.problem, error.headers)


class RetryingRoute(APIRoute):
    """Runs the handler again (up to `attempts` times in all, with a short jittered wait)
    when its transaction was aborted by contention; the body is read once and parsed again
    on each run. The last failure goes on to the catch-all: a 503."""

    attempts = ATTEMPTS

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        attempts = self.attempts

        async def retrying_handler(request: Request) -> Response:
            await request.body()  # kept by Starlette: every run parses the same bytes
            for attempt in range(1, attempts + 1):
                try:
                    return await handle(request)
                except Exception as exc:
                    if attempt == attempts or not is_contention(exc):
                        raise
                    log.info("%s %s: contention, run again", request.method, request.url.path)
                await asyncio.sleep(random.uniform(0, _FIRST_WAIT * 2 ** (attempt - 1)))  # noqa: S311 - jitter, not a secret
            raise AssertionError("unreachable: the last attempt returns or raises")

        return retrying_handler
