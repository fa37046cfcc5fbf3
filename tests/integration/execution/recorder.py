"""A recording webhook for crash tests: a real aiohttp server on 127.0.0.1 that notes every
request (its Idempotency-Key, attempt, step, when it came and when it was answered) and
applies an effect once per Idempotency-Key, as an idempotent receiver does: a request with a
key it has seen gets the stored answer and no second effect.

Each request waits a little before its effect and a little after it, so a worker killed
mid-call is sometimes killed before the effect and sometimes after it with the answer lost.

Requests for the steps in `hold` wait for `release` before their effect: a test holds its
run's last steps so the run cannot end while it still means to kill workers.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Hit:
    """One request as it reached the webhook."""

    key: str
    attempt: int
    step: str
    arrived: float  # time.monotonic()
    answered: float | None = None  # set just before the answer is written
    duplicate: bool = False  # its key had an effect already


@dataclass(frozen=True)
class Effect:
    """What the one request per key that applied did: its place in the order of effects,
    the step it was for, and the answer every later request with the key gets too."""

    seq: int
    step: str
    answer: dict[str, Any]


@dataclass
class Recorder:
    url: str = ""
    # seconds waited before the effect and again after it (each drawn anew)
    wait: tuple[float, float] = (0.01, 0.075)
    hits: list[Hit] = field(default_factory=list)
    effects: dict[str, Effect] = field(default_factory=dict)
    # every effect applied, in order, by key: one entry per key unless the receiver is wrong
    applied: list[str] = field(default_factory=list)
    hold: frozenset[str] = frozenset()
    release: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def duplicates(self) -> int:
        return sum(1 for h in self.hits if h.duplicate)

    async def handle(self, request: web.Request) -> web.Response:
        headers = request.headers
        hit = Hit(
            key=headers.get("Idempotency-Key", ""),
            attempt=int(headers.get("X-Agentsuite-Attempt", "-1")),
            step=headers.get("X-Agentsuite-Step", ""),
            arrived=time.monotonic(),
        )
        self.hits.append(hit)
        try:
            body = await request.json()
            if hit.step in self.hold:
                await self.release.wait()
            await asyncio.sleep(random.uniform(*self.wait))  # noqa: S311  # jitter, not crypto
            # no await between the look-up and the store: two requests with one key cannot
            # both apply, however they interleave
            effect = self.effects.get(hit.key)
            if effect is None:
                seq = len(self.applied) + 1
                answer = {"key": hit.key, "seq": seq, "step": hit.step, "input": body}
                effect = Effect(seq=seq, step=hit.step, answer=answer)
                self.effects[hit.key] = effect
                self.applied.append(hit.key)
            else:
                hit.duplicate = True
            await asyncio.sleep(random.uniform(*self.wait))  # noqa: S311  # jitter, not crypto
            return web.json_response(effect.answer)
        finally:
            hit.answered = time.monotonic()


@asynccontextmanager
async def recording(
    path: str = "/effect", hold: frozenset[str] = frozenset()
) -> AsyncIterator[Recorder]:
    """A Recorder listening on 127.0.0.1 (a free port); `url` is its endpoint."""
    recorder = Recorder(hold=hold)
    app = web.Application()
    app.router.add_post(path, recorder.handle)
    # a killed worker's request finishes here anyway (no handler cancellation): the effect a
    # crash leaves behind is part of what the test must survive
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    recorder.url = f"http://{host}:{port}{path}"
    try:
        yield recorder
    finally:
        recorder.release.set()  # a test that failed holding its steps lets them finish
        await runner.cleanup()
