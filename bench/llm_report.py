"""bench/llm_gateway.py's output: the side-by-side table, the targets, the profile split."""

from __future__ import annotations

import json
import math
import pstats
from pathlib import Path
from typing import Any

from bench.llm_load import Result

ADDED_P50_MS = 1.0
RATE_RATIO = 10.0


def _f(value: float | None, fmt: str) -> str:
    return "-" if value is None or math.isnan(value) else format(value, fmt)


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b <= 0 else f"{a / b:.2f}x"


def print_table(  # noqa: C901, PLR0915  one table: a column set per peer, a row per (upstream, concurrency), read top to bottom
    header: str, results: dict[str, dict[tuple[int, int], Result]], targets: dict[str, Any]
) -> int:
    """The table; returns the exit code (1 when a run failed, not when a target is missed)."""
    direct = results.get("direct", {})
    peers = [name for name in ("gateway", "LiteLLM") if name in results]
    print()
    print(header)
    cols = f"{'upstream, conc':<16}| {'direct req/s':>12} {'p50':>7} {'p99':>7} "
    for name in peers:
        cols += f"| {name + ' req/s':>13} {'+p50':>7} {'+p99':>7} "
    if len(peers) == 2:
        cols += f"| {'gw/LiteLLM req/s':>16} {'+p50':>7}"
    print(cols)
    print("-" * len(cols))
    failed = False
    added: dict[tuple[str, int, int], tuple[float, float]] = {}
    for key in sorted(direct):
        latency, conns = key
        base = direct[key]
        line = f"{f'{latency} ms, c={conns}':<16}| {base.rate:>12,.0f} {base.p50_ms:>7.2f} "
        line += f"{base.p99_ms:>7.2f} "
        failed |= base.failed
        for name in peers:
            r = results[name].get(key)
            if r is None:
                line += f"| {'-':>13} {'-':>7} {'-':>7} "
                continue
            failed |= r.failed
            a50, a99 = r.p50_ms - base.p50_ms, r.p99_ms - base.p99_ms
            added[(name, latency, conns)] = (a50, a99)
            flag = " ERR" if r.failed else ""
            line += f"| {r.rate:>13,.0f} {a50:>7.2f} {a99:>7.2f}{flag} "
        if len(peers) == 2 and key in results["LiteLLM"] and key in results["gateway"]:
            gw, ll = results["gateway"][key], results["LiteLLM"][key]
            a_gw, a_ll = added[("gateway", *key)][0], added[("LiteLLM", *key)][0]
            line += f"| {_ratio(gw.rate, ll.rate):>16} {_ratio(a_gw, a_ll):>7}"
        print(line)
    print("(+p50/+p99: latency added over calling the stub directly, ms; req/s: one worker)")
    _cpu_table(results)
    for what, attr, fmt in (
        ("spawn to /readyz 200, s", "ready_s", ".2f"),
        ("RSS per worker, MB", "rss_mb", ".0f"),
        ("idle CPU, % of a core", "idle_cpu", ".1f"),
        ("startup to first completion, s", "startup", ".2f"),
    ):
        print(
            f"{what:<32}"
            + "".join(f"  {name}: {_f(getattr(t, attr), fmt)}" for name, t in targets.items())
        )
    print()
    for latency in sorted({k[0] for k in direct}):
        got = added.get(("gateway", latency, 1))
        if got is not None:
            ok = got[0] <= ADDED_P50_MS
            print(
                f"target: gateway added p50 at c=1, {latency} ms upstream: {got[0]:.2f} ms "
                f"<= {ADDED_P50_MS:g} ms  {'PASS' if ok else 'MISSED'}"
            )
    if len(peers) == 2:
        for key in sorted(k for k in direct if k[1] > 1):
            ours, peer = results["gateway"].get(key), results["LiteLLM"].get(key)
            if ours is None or peer is None or peer.rate <= 0:
                continue
            ratio = ours.rate / peer.rate
            print(
                f"target: gateway req/s per worker at c={key[1]}, {key[0]} ms upstream: "
                f"{ratio:.1f}x LiteLLM's >= {RATE_RATIO:g}x  "
                f"{'PASS' if ratio >= RATE_RATIO else 'MISSED'}"
            )
    if len(peers) == 2:
        for key in sorted(k for k in direct if k[1] > 1):
            ours, peer = results["gateway"].get(key), results["LiteLLM"].get(key)
            if ours is None or peer is None or not ours.cpu_ms or not peer.cpu_ms:
                continue
            ratio = peer.cpu_ms / ours.cpu_ms
            print(
                f"  (by server CPU per request at c={key[1]}, {key[0]} ms: {ratio:.1f}x "
                "LiteLLM's requests per core-second)"
            )
    if failed:
        print("FAILED: a run had no answers or more than 1% errors (ERR above)")
    return 1 if failed else 0


def _cpu_table(results: dict[str, dict[tuple[int, int], Result]]) -> None:
    """CPU per request: the number a shared machine cannot skew (req/s can: other
    processes take turns on the worker's core)."""
    names = [n for n in ("direct", "gateway", "LiteLLM") if n in results]
    print()
    print("server CPU per request, ms (req/s one full core would serve = 1000 / ms):")
    print(
        f"{'upstream, conc':<16}"
        + "".join(f"| {n if n != 'direct' else 'stub':>19} " for n in names)
    )
    for key in sorted(results.get("direct", {})):
        line = f"{f'{key[0]} ms, c={key[1]}':<16}"
        for name in names:
            r = results[name].get(key)
            if r is None or not r.cpu_ms:
                line += f"| {'-':>18} "
            else:
                line += f"| {r.cpu_ms:>7.2f} ({1000 / r.cpu_ms:>7,.0f}/s) "
        print(line)


# Where a request's time goes, by where the code lives (first match wins).
AREAS: list[tuple[str, tuple[str, ...]]] = [
    ("auth (kit JWT verify, jwt, cryptography)", ("agentsuite_kit/auth", "/jwt/", "cryptography")),
    ("catalogue", ("agentsuite_llm_gateway/catalogs",)),
    ("routing + breakers", ("domain/routing", "domain/breaker")),
    ("budgets", ("agentsuite_llm_gateway/budgets",)),
    ("prompts", ("agentsuite_llm_gateway/prompts",)),
    ("cache", ("agentsuite_llm_gateway/cache",)),
    ("recorder (traces, usage)", ("agentsuite_llm_gateway/recorder", "domain/traces")),
    (
        "gateway pipeline (gateway.py, domain)",
        ("agentsuite_llm_gateway/gateway", "agentsuite_llm_gateway/domain"),
    ),
    (
        "OpenAI edge (api/openai.py, errors)",
        ("agentsuite_llm_gateway/api", "agentsuite_llm_gateway/streaming"),
    ),
    ("upstream adapter", ("agentsuite_llm_gateway/upstream",)),
    ("aiohttp client (+yarl, multidict)", ("aiohttp/", "yarl/", "multidict/")),
    ("JSON (orjson, json)", ("orjson", "json/", "'loads'", "'dumps'")),
    ("kit runtime, middleware", ("agentsuite_kit",)),
    ("FastAPI, Starlette, pydantic", ("fastapi/", "starlette/", "pydantic", "anyio/")),
    ("uvicorn, httptools", ("uvicorn/", "httptools")),
    ("database (SQLAlchemy, asyncpg)", ("sqlalchemy/", "asyncpg")),
    ("Kafka client", ("aiokafka", "confluent")),
    ("event loop: uvloop in C, idle time included", ("runners.py",)),
    ("asyncio, uvloop", ("asyncio/", "uvloop", "select", "epoll", "_asyncio")),
]


def _area(filename: str, func: str) -> str:
    where = f"{filename} {func!r}"
    for name, needles in AREAS:
        if any(n in where for n in needles):
            return name
    return "other (stdlib, builtins)"


def print_profile(path: Path, served: int) -> None:
    """Own time (tottime) per area, per request served while the profiler ran. cProfile
    slows everything (~2x); the split, not the absolute numbers, is the point."""
    stats = pstats.Stats(str(path))
    table: Any = stats.stats  # type: ignore[attr-defined]  # pstats keeps it untyped
    areas: dict[str, float] = {}
    for (filename, _line, func), (_cc, _nc, tottime, _ct, _callers) in table.items():
        key = _area(filename, func)
        areas[key] = areas.get(key, 0.0) + tottime
    # requests the server parsed while profiled (uvicorn's callback, once per request);
    # the load generator's count misses the ones in flight when a run stops
    parsed = [v[1] for k, v in table.items() if k[2] == "on_message_complete" and "uvicorn" in k[0]]
    requests = max(parsed) if parsed else served
    busy = sum(areas.values()) - areas.get("other (stdlib, builtins)", 0.0)
    print()
    print(f"gateway under cProfile: {requests:,} requests (warm-ups included), profile in {path}")
    total = sum(areas.values())
    for name, seconds in sorted(areas.items(), key=lambda kv: -kv[1]):
        print(
            f"  {name:<44} {seconds:8.2f} s  {100 * seconds / total:5.1f}%  "
            f"{1e6 * seconds / max(1, requests):8.0f} µs/request"
        )
    print(f"  {'(profiled, excluding other)':<44} {busy:8.2f} s")
    gc_file = Path(f"{path}.gc.json")
    if gc_file.exists():
        passes = json.loads(gc_file.read_text())
        print(
            "  garbage collector (inside the times above): passes by generation "
            f"{passes['count']}, {sum(passes['seconds']):.2f} s in all "
            f"({1e6 * sum(passes['seconds']) / max(1, requests):.0f} µs/request; gen2 "
            f"{passes['seconds'][2]:.2f} s), {passes['tracked_objects']:,} tracked objects"
        )
    print()
    print("top 25 functions by own time:")
    stats.sort_stats("tottime").print_stats(25)
    print("who calls the top 8:")
    stats.print_callers(8)
