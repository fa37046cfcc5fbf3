"""discovery's conversation loop on this machine, end to end, with the REAL llm-gateway.

    python bench/discovery.py [--sessions 8] [--turns 10] [--latency-turns 200]
    python bench/discovery.py --quick     # CI: about a minute

Starts embedded PostgreSQL and broker (or uses AGENTSUITE_BENCH_DATABASE_URL /
AGENTSUITE_BENCH_KAFKA_BOOTSTRAP_SERVERS), provisions discovery's and the gateway's
databases as `agentsuite up` does and runs both real apps in this process (one worker
each; discovery reached through its ASGI interface). One tenant's gateway routes the model
discovery asks for to the `local` provider in `script` mode, answering every turn at once
with one extraction (a confidence too low for the gate, so sessions run on). One turn is
the whole loop: `POST /v1/sessions/{id}/turns` -> the request in discovery's outbox ->
`llm.requests.v1` -> the gateway calls the local provider -> the answer on
`llm.responses.discovery.v1` -> discovery applies it (extractions, obligation states, the
next question) -> `GET /v1/sessions/{id}` no longer shows `thinking`.

Printed:
- throughput: `--sessions` sessions at once, `--turns` turns each, one after the other in a
  session: turns/s through the whole loop.
- latency, one session, one turn at a time (`--latency-turns` turns over fresh sessions):
  * `wall`: from sending the POST to the first GET (polled every 2 ms) that is no longer
    `thinking`;
  * `gateway`: the gateway's own time for the call, the answer's `latency_ms` (the gateway
    stamps it from taking the request off the broker to having its answer, provider
    included), read off `llm.responses.discovery.v1`;
  * `added` = wall - gateway: what discovery and the hops around the gateway add to a turn
    (discovery's POST and its transaction, its outbox relay, two broker hops, applying the
    answer, and up to one 2 ms poll of observing it). Target: p50 < 20 ms.
  * `own`: the part of that spent in discovery's code alone: the POST's round trip plus
    applying the answer (the kit's `LlmClient.answered` with discovery's `on_answer`, its
    commit left out), so the relays' and the broker's share of `added` is about
    `added - own`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from bench.raw_baseline import servers  # noqa: E402  # after the path insert

OBJECTIVE = {
    "title": "Bench",
    "description": "One obligation the gate never sees met",
    "obligations": [
        {
            "key": "goal",
            "title": "Goal",
            "description": "What the plan achieves",
            "kind": "goal",
            # 1 - 0.7^n stays below 0.999 for the turns a session runs here
            "confidence": 0.999,
        }
    ],
}
ANSWER = {
    "extractions": [{"obligation": "goal", "value": "bench", "kind": "fact", "confidence": 0.3}],
    "reply": "noted",
}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def line(name: str, values: list[float]) -> str:
    return (
        f"{name:12} p50 {statistics.median(values):6.1f} ms  p95 {percentile(values, 0.95):6.1f} ms"
        f"  max {max(values):6.1f} ms"
    )


# which of discovery's paths a SQL statement runs for: "post" (a turn's POST), "apply" (an
# answer applied), or None (reads, relays, jobs): the probes count statements by it
PHASE: ContextVar[str | None] = ContextVar("phase", default=None)


class Timed:
    """How long discovery's application of each answer took, by request id: the kit's
    `LlmClient.answered` (finding the pending call, locking, the service's `on_answer`),
    wrapped on the class before the app starts; and the SQL statements of each phase."""

    def __init__(self) -> None:
        self.took: dict[UUID, float] = {}
        self.statements: dict[str, int] = {"post": 0, "apply": 0}
        self.turns = 0

    def count_statements(self, service: Any) -> None:
        from sqlalchemy import event

        def counted(*_: Any) -> None:
            phase = PHASE.get()
            if phase is not None:
                self.statements[phase] += 1

        engine = service.app.state.deps.runtime.engine.sync_engine
        event.listen(engine, "before_cursor_execute", counted)

    def install(self) -> None:
        from agentsuite_kit.llm.client import LlmClient

        original = LlmClient.answered
        took = self.took

        async def answered(client: Any, uow: Any, response: Any, replies: Any) -> bool:
            started = time.perf_counter()
            phase = PHASE.set("apply")
            try:
                return await original(client, uow, response, replies)
            finally:
                took[response.request_id] = (time.perf_counter() - started) * 1000
                PHASE.reset(phase)

        LlmClient.answered = answered  # type: ignore[method-assign,assignment]  # a probe


async def answers_seen(kafka: str, into: dict[UUID, int], stop: asyncio.Event) -> None:
    """Every answer's `latency_ms` on discovery's reply topic, by request id."""
    from aiokafka import AIOKafkaConsumer

    from agentsuite_contracts.envelope import Envelope
    from agentsuite_contracts.llm import LlmResponse
    from agentsuite_contracts.topic_names import LLM_RESPONSES_DISCOVERY_V1

    consumer = AIOKafkaConsumer(
        LLM_RESPONSES_DISCOVERY_V1,
        bootstrap_servers=kafka,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        while not stop.is_set():
            for records in (await consumer.getmany(timeout_ms=100)).values():
                for r in records:
                    answer = Envelope[LlmResponse].model_validate_json(r.value).payload
                    into[answer.request_id] = answer.latency_ms
    finally:
        await consumer.stop()


@dataclass
class Loop:
    """One tenant's sessions in discovery, reached through its ASGI interface."""

    client: Any
    auth: dict[str, str]

    async def session(self) -> str:
        body = {"objective": "bench", "title": "bench"}
        r = await self.client.post("/v1/sessions", json=body, headers=self.auth)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def turn(self, sid: str, n: int, poll: float) -> tuple[float, float]:
        """(wall ms, POST round trip ms) of one turn, its text `turn <n>`."""
        started = time.perf_counter()
        phase = PHASE.set("post")
        try:
            r = await self.client.post(
                f"/v1/sessions/{sid}/turns", json={"content": f"turn {n}"}, headers=self.auth
            )
        finally:
            PHASE.reset(phase)
        posted = time.perf_counter()
        assert r.status_code == 202, r.text
        while True:
            view = (await self.client.get(f"/v1/sessions/{sid}", headers=self.auth)).json()
            if view["status"] != "thinking":
                break
            await asyncio.sleep(poll)
        assert view["status"] == "gathering", view
        return (time.perf_counter() - started) * 1000, (posted - started) * 1000


async def throughput(loop: Loop, sessions: int, turns: int) -> None:
    async def run(sid: str) -> None:
        for n in range(turns):
            await loop.turn(sid, n, 0.01)

    sids = [await loop.session() for _ in range(sessions)]
    started = time.perf_counter()
    await asyncio.gather(*(run(sid) for sid in sids))
    elapsed = time.perf_counter() - started
    total = sessions * turns
    print(
        f"throughput: {total / elapsed:.1f} turns/s "
        f"({sessions} sessions x {turns} turns at once, in {elapsed:.1f} s)"
    )


def figures_of(
    walls: list[tuple[str, int, float, float]],
    ids: dict[tuple[str, str], UUID],
    seen: dict[UUID, int],
    took: dict[UUID, float],
) -> dict[str, list[float]]:
    """wall, gateway, added and own ms of each turn whose answer was read."""
    names = ("wall", "gateway", "added", "own", "own: POST", "own: apply")
    figures: dict[str, list[float]] = {name: [] for name in names}
    for sid, n, wall, post in walls:
        request_id = ids.get((sid, f"turn {n}"))
        if request_id is None or request_id not in seen:
            continue
        figures["wall"].append(wall)
        figures["gateway"].append(float(seen[request_id]))
        figures["added"].append(wall - seen[request_id])
        if request_id in took:
            figures["own"].append(post + took[request_id])
            figures["own: POST"].append(post)
            figures["own: apply"].append(took[request_id])
    return figures


async def latency(loop: Loop, service: Any, gw: Any, tenant: UUID, timed: Timed, args: Any) -> None:
    seen: dict[UUID, int] = {}
    stop = asyncio.Event()
    reader = asyncio.create_task(answers_seen(service.kafka, seen, stop))
    walls: list[tuple[str, int, float, float]] = []
    sid = await loop.session()
    timed.statements = {"post": 0, "apply": 0}
    for n in range(args.latency_turns):
        if n and n % args.turns == 0:
            sid = await loop.session()
        wall, post = await loop.turn(sid, n, 0.002)
        walls.append((sid, n, wall, post))
    ids = await turn_requests(service, tenant)
    deadline = time.monotonic() + 30
    while not all(ids.get((w[0], f"turn {w[1]}")) in seen for w in walls):
        if time.monotonic() > deadline:
            break  # what was not read is left out of the figures
        await asyncio.sleep(0.1)
    stop.set()
    await reader
    figures = figures_of(walls, ids, seen, timed.took)
    print(f"latency over {len(figures['added'])} turns, one at a time:")
    timed_ids = {ids[(w[0], f"turn {w[1]}")] for w in walls if (w[0], f"turn {w[1]}") in ids}
    for name, values in (figures | await hops(service, gw, timed_ids)).items():
        if values:
            print("  " + line(name, values))
    n = max(1, len(walls))
    print(
        f"  SQL statements per turn: POST {timed.statements['post'] / n:.1f}, "
        f"applying the answer {timed.statements['apply'] / n:.1f}"
    )
    if figures["added"]:
        p50 = statistics.median(figures["added"])
        verdict = "met" if p50 < 20 else "MISSED"
        print(f"discovery's added latency per turn: p50 {p50:.1f} ms (target < 20 ms: {verdict})")


async def measure(admin: str, kafka: str, args: argparse.Namespace) -> None:
    from agentsuite_cli.provision import deprovision
    from tests.integration.discovery import harness
    from tests.integration.discovery.loop_support import gateway_for, headers
    from tests.integration.llm_gateway import harness as gw_harness

    with tempfile.TemporaryDirectory(prefix="agentsuite-discovery-bench-") as tmp:
        gw_db = await gw_harness.create_gateway_db(admin, Path(tmp) / "gw.json")
        db = await harness.create_db(admin, Path(tmp) / "pw.json")
        try:
            poll = {"outbox_poll_interval": args.outbox_poll, "log_level": "WARNING"}
            gw_settings = gw_harness.make_settings(gw_db.url(admin), kafka, **poll)
            settings = harness.make_settings(
                db.url(admin), kafka, max_turns=args.turns + 10, **poll
            )
            timed = Timed()
            timed.install()
            async with (
                gw_harness.running(gw_settings, gw_db, admin) as gw,
                harness.running(settings, db, admin) as service,
            ):
                tenant, user = uuid4(), uuid4()
                await gateway_for(gw, tenant, [{"json": ANSWER}])
                timed.count_statements(service)
                loop = Loop(service.client, headers(tenant, user))
                body = {"key": "bench", **OBJECTIVE}
                r = await service.client.post("/v1/objectives", json=body, headers=loop.auth)
                assert r.status_code == 201, r.text
                warm = await loop.session()  # plans, pools, the groups' first fetches
                for n in range(5):
                    await loop.turn(warm, n, 0.002)
                await throughput(loop, args.sessions, args.turns)
                await latency(loop, service, gw, tenant, timed, args)
        finally:
            await deprovision(admin, [db, gw_db])


async def hops(service: Any, gw: Any, ids: set[UUID]) -> dict[str, list[float]]:
    """Where the time around the gateway's call goes, from the two databases' clocks (one
    machine), for the calls `ids`: `request hop` = discovery's POST transaction -> the
    gateway starting the call, of which `relay out` is discovery's outbox row waiting for
    its relay (created -> published, the broker's ack included); `answer hop` = the call's
    end -> discovery's applying transaction, of which `relay back` is the gateway's outbox
    row of the answer waiting for its relay. The rest of a hop is the broker's delivery and
    the consumer's fetch (and, going out, the gateway's claim and routing)."""
    mine = await service.owner_sql(
        "SELECT request_id, created_at, answered_at FROM llm_calls WHERE state = 'answered'"
    )
    theirs = await gw.owner_sql("SELECT request_id, created_at, latency_ms FROM calls")
    out_rows = await service.owner_sql(
        "SELECT key, published_at - created_at FROM outbox WHERE topic = 'llm.requests.v1'"
    )
    back_rows = await gw.owner_sql(
        "SELECT key, published_at - created_at FROM outbox "
        "WHERE topic = 'llm.responses.discovery.v1'"
    )
    called = {rid: (at, ms) for rid, at, ms in theirs}
    relayed_out = {key: wait for key, wait in out_rows if wait is not None}
    relayed_back = {key: wait for key, wait in back_rows if wait is not None}
    names = ("request hop", "relay out", "answer hop", "relay back")
    out: dict[str, list[float]] = {name: [] for name in names}
    for rid, created, answered in mine:
        if rid not in ids or rid not in called or answered is None:
            continue
        at, ms = called[rid]
        out["request hop"].append((at - created).total_seconds() * 1000)
        out["answer hop"].append((answered - at).total_seconds() * 1000 - ms)
        if str(rid) in relayed_out:
            out["relay out"].append(relayed_out[str(rid)].total_seconds() * 1000)
        if str(rid) in relayed_back:
            out["relay back"].append(relayed_back[str(rid)].total_seconds() * 1000)
    return out


async def turn_requests(service: Any, tenant: UUID) -> dict[tuple[str, str], UUID]:
    """(session id, turn text) -> the request id of the call that answered it."""
    rows = await service.owner_sql(
        "SELECT t.session_id, t.content, c.request_id FROM llm_calls c "
        "JOIN turns t ON t.id = c.turn_id "
        "WHERE c.tenant_id = :t AND c.state = 'answered'",
        t=tenant,
    )
    return {(str(sid), content): rid for sid, content, rid in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sessions", type=int, default=8, help="sessions at once")
    parser.add_argument("--turns", type=int, default=10, help="turns per session")
    parser.add_argument("--latency-turns", type=int, default=200)
    parser.add_argument(
        "--outbox-poll",
        type=float,
        default=0.05,
        help="seconds each relay (discovery's, the gateway's) sleeps when its outbox is "
        "empty (the kit's default as deployed is 0.2; the tests' harnesses use 0.05)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="for CI (about a minute): 4 x 5 turns, 50 timed"
    )
    args = parser.parse_args()
    if args.quick:
        args.sessions, args.turns, args.latency_turns = 4, 5, 50
    with servers() as (admin, kafka, label):
        print(f"discovery bench: broker {label}, relays polling every {args.outbox_poll} s")
        asyncio.run(measure(admin, kafka, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
