"""catalog's hot path on this machine, in-process for now: registering and publishing tool
versions through the domain (schema checks, the compatibility rule, the frozen spec).

The issue's figures (search p50/p95 over 10k tools and 50k versions, publish throughput
through the real app) need search, which a later session builds: see services/catalog/NOTES.md.

python bench/catalog.py [--n N]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from agentsuite_catalog.domain.bindings import BuiltinSpec
from agentsuite_catalog.domain.tools import Draft, new_tool, new_version, publish


def schema(width: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {f"p{i}": {"type": "string", "maxLength": 100} for i in range(width)},
        "required": ["p0"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2_000, help="tools to register and publish")
    n = parser.parse_args().n
    tenant, now = uuid4(), datetime.now(UTC)
    started = time.perf_counter()
    for i in range(n):
        first = Draft("1.0.0", "bench tool", BuiltinSpec("echo"), schema(20))
        tool, v1, _ = new_tool(tenant, f"tool.{i}", first, now)
        tool, v1, _ = publish(tool, v1, [v1], now)
        second = Draft("1.1.0", "bench tool", BuiltinSpec("echo"), schema(21))
        v2, _ = new_version(tool, [v1], second, now)
        publish(tool, v2, [v1, v2], now)
    elapsed = time.perf_counter() - started
    rate = n / elapsed
    print(f"catalog register+publish (2 versions): {rate:,.0f} tools/s ({n} in {elapsed:.2f} s)")


if __name__ == "__main__":
    main()
