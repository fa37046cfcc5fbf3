"""planning's hot path on this machine: a stub that measures the domain's item creation.

Replace it with the path the service lives on (a route through the real app, a consumer
through the real broker) and print its figures, beside a peer's where an issue names one.

python bench/planning.py [--n N]
"""

from __future__ import annotations

import argparse
import time
from uuid import uuid4

from agentsuite_planning.domain.items import new_item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="items to make")
    n = parser.parse_args().n
    tenant = uuid4()
    started = time.perf_counter()
    for i in range(n):
        new_item(tenant, f"item {i}")
    elapsed = time.perf_counter() - started
    print(f"planning new_item: {n / elapsed:,.0f} per second ({n} in {elapsed:.2f} s)")


if __name__ == "__main__":
    main()
