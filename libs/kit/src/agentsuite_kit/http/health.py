"""Liveness and readiness: /healthz says the process serves, /readyz that its dependencies do."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.responses import Response

from agentsuite_kit.http.problems import problem

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[None]]
CheckStatus = Literal["ok", "failed", "timeout"]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    checks: dict[str, CheckStatus] = {}


async def run_check(name: str, check: Check, seconds: float) -> CheckStatus:
    try:
        async with asyncio.timeout(seconds):
            await check()
    except TimeoutError:
        log.warning("readiness check timed out", extra={"check": name})
        return "timeout"
    except Exception:
        # The reason stays in the logs: error text can carry hosts and DSNs.
        log.warning("readiness check failed", extra={"check": name}, exc_info=True)
        return "failed"
    return "ok"


def health_router(checks: Mapping[str, Check] | None = None, timeout: float = 2.0) -> APIRouter:
    checks = dict(checks or {})
    router = APIRouter(tags=["health"])

    @router.get("/healthz", response_model=Health)
    async def healthz() -> Health:
        return Health()

    @router.get("/readyz", response_model=Health, responses={503: {"description": "Not ready"}})
    async def readyz() -> Health | Response:
        names = list(checks)
        results = await asyncio.gather(*(run_check(n, checks[n], timeout) for n in names))
        statuses: dict[str, CheckStatus] = dict(zip(names, results, strict=True))
        failing = [n for n, s in statuses.items() if s != "ok"]
        if failing:
            return problem(503, f"Not ready: {', '.join(failing)}.", checks=statuses)
        return Health(checks=statuses)

    return router
