"""`agentsuite serve ...` with cProfile switched by signals, for bench/llm_gateway.py --profile.

    python bench/llm_profiled.py OUT serve llm-gateway
    python bench/llm_profiled.py - serve llm-gateway     (SIGUSR1: gc.freeze(), no profile)

SIGUSR1 starts profiling the main thread, SIGUSR2 stops it and writes OUT (and OUT.gc.json:
the garbage collector's passes and time meanwhile): the bench profiles the requests it
sends, not the imports and startup before them. The timer is the thread's CPU time: on a
shared machine wall time would charge other processes' turns to whatever function was
running when the scheduler took the core away.
"""

from __future__ import annotations

import cProfile
import gc
import json
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from agentsuite_cli.main import app


@dataclass
class Passes:
    on: bool = False
    started: float = 0.0
    seconds: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    count: list[int] = field(default_factory=lambda: [0, 0, 0])


def main() -> None:
    out = sys.argv[1]
    profiler = cProfile.Profile(time.thread_time)
    passes = Passes()

    def collected(phase: str, info: dict[str, Any]) -> None:
        if not passes.on:
            return
        if phase == "start":
            passes.started = time.thread_time()
        else:
            generation = info["generation"]
            passes.seconds[generation] += time.thread_time() - passes.started
            passes.count[generation] += 1

    def start(_sig: int, _frame: FrameType | None) -> None:
        if out == "-":
            # what-if for --gc-freeze: the objects made by imports and startup leave
            # the collector's generations, so full passes scan only the requests' garbage
            gc.freeze()
            return
        passes.on = True
        profiler.enable()

    def stop(_sig: int, _frame: FrameType | None) -> None:
        profiler.disable()
        passes.on = False
        profiler.dump_stats(out)
        summary = {
            "seconds": passes.seconds,
            "count": passes.count,
            "tracked_objects": len(gc.get_objects()),
        }
        Path(f"{out}.gc.json").write_text(json.dumps(summary))

    gc.callbacks.append(collected)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    sys.argv = ["agentsuite", *sys.argv[2:]]
    app()


if __name__ == "__main__":
    main()
