"""An engine-only process: `python -m agentsuite_execution.worker`.

The same engine `agentsuite serve execution` runs beside its API, without the HTTP edge or
the Kafka consumers: scale step throughput by starting more of these against one database
(settings from the environment, `AGENTSUITE_EXECUTION_*`). It relays the outbox too, so
events of the steps it runs leave without waiting for an API process. SIGTERM or SIGINT
stops it after its running attempts finish (up to a few seconds; the rest are handed on).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from agentsuite_execution.deps import Deps
from agentsuite_execution.engine.workers import Engine
from agentsuite_execution.handlers.responses import llm_jobs
from agentsuite_execution.settings import ExecutionSettings
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.runtime import Runtime


async def serve(settings: ExecutionSettings, stop: asyncio.Event) -> None:
    deps = Deps(settings)
    deps.runtime = Runtime[ExecutionUow](settings, uow=ExecutionUow, jobs=llm_jobs(deps))
    engine = Engine(deps)
    await deps.runtime.start()
    try:
        await engine.start()
        await stop.wait()
    finally:
        await engine.stop()
        await deps.runtime.stop()


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await serve(ExecutionSettings(), stop)


if __name__ == "__main__":
    asyncio.run(main())
