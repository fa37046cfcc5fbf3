"""discovery's hot path on this machine, for now the domain's share of a turn: the model's
answer parsed, applied to the session's state, the next question chosen (the service's
loop through the broker and the gateway's `local` provider is issue 17's bench, still to
come).

python bench/discovery.py [--n N]
"""

from __future__ import annotations

import argparse
import json
import time

from agentsuite_contracts.ids import uuid7
from agentsuite_discovery.domain.objectives import DEFAULT
from agentsuite_discovery.domain.prompts import parse_answer
from agentsuite_discovery.domain.sessions import apply, initial, next_question

ANSWER = json.dumps(
    {"extractions": [{"obligation": "goal", "value": "g", "kind": "fact", "confidence": 0.5}]}
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000, help="turns to apply")
    n = parser.parse_args().n
    state = initial(DEFAULT)
    started = time.perf_counter()
    for _ in range(n):
        state, _applied = apply(DEFAULT, state, parse_answer(ANSWER), uuid7)
        next_question(DEFAULT, state, ())
    elapsed = time.perf_counter() - started
    print(f"discovery domain per turn: {n / elapsed:,.0f} per second ({n} in {elapsed:.2f} s)")


if __name__ == "__main__":
    main()
