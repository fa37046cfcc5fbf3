"""identity's hot paths: token verification in-process, authorize and API-key exchange over HTTP.

    uv run python bench/identity.py [--seconds S] [--connections N]

(a) JWT verification/s on one core: the kit's `JwksKeySet.verify` on identity-issued
    (Ed25519) tokens, beside a bare PyJWT decode with the same key and checks.
(b) `POST /v1/authorize` decisions/s and p50/p99 over HTTP against `agentsuite serve
    identity` (one uvicorn worker, a subprocess), warm, with decision_sample_rate 1.0 and
    0.0.
(c) API-key exchange/s: uncached (`POST /v1/token`, token-exchange grant, over HTTP) and
    cached (the kit's `ApiKeyExchanger` in this process against that server).

Parts whose routes identity does not serve yet print "not available". Embedded servers
unless AGENTSUITE_BENCH_DATABASE_URL / AGENTSUITE_BENCH_KAFKA_BOOTSTRAP_SERVERS are set.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

import jwt  # noqa: E402

from agentsuite_cli.provision import deprovision  # noqa: E402
from agentsuite_identity.auth import IdentityAuthenticator  # noqa: E402
from agentsuite_identity.grants import API_KEY_TOKEN_TYPE, GRANT_TOKEN_EXCHANGE  # noqa: E402
from agentsuite_identity.settings import IdentitySettings  # noqa: E402
from agentsuite_kit.auth import JwksKeySet  # noqa: E402
from agentsuite_kit.auth.algorithms import ED25519, Ed25519Algorithm  # noqa: E402
from agentsuite_kit.auth.principal import PrincipalKind  # noqa: E402
from bench.identity_http import (  # noqa: E402
    Load,
    call,
    free_port,
    hammer,
    json_request,
    ready,
    request_bytes,
    served,
)
from bench.raw_baseline import quiet_logs, servers  # noqa: E402
from tests.integration.identity.harness import (  # noqa: E402
    Identity,
    create_identity_db,
    make_settings,
    running,
)

# E402 above: the harness lives under tests/, importable once ROOT is on the path


@dataclass
class Row:
    what: str
    value: str
    target: str
    verdict: str


class Table:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, what: str, value: str, target: str = "", ok: bool | None = None) -> None:
        verdict = "" if ok is None else ("PASS" if ok else "MISS")
        self.rows.append(Row(what, value, target, verdict))

    def missing(self, what: str, why: str) -> None:
        self.rows.append(Row(what, "not available", why, ""))

    def print(self) -> None:
        width = max(len(r.what) for r in self.rows)
        vwidth = max(len(r.value) for r in self.rows)
        for r in self.rows:
            print(f"  {r.what:<{width}}  {r.value:>{vwidth}}  {r.target:<28} {r.verdict}")


async def per_second(fn: Callable[[int], Awaitable[Any]], seconds: float) -> float:
    """Calls of `fn(i)` per second, in batches so the clock is read rarely."""
    done = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    while True:
        for i in range(done, done + 200):
            await fn(i)
        done += 200
        now = time.perf_counter()
        if now >= end:
            return done / (now - t0)


async def verification(identity: Identity, tenant: UUID, user: UUID, table: Table) -> None:
    authenticator = identity.app.state.keyset
    assert isinstance(authenticator, IdentityAuthenticator)
    keyset: JwksKeySet = authenticator.keyset
    tokens = [await identity.mint(tenant, user, ["*"], ttl=3600) for _ in range(100)]
    await keyset.verify(tokens[0])  # parses and caches the key once

    # cold: every token seen for the first time (the signature is checked every call)
    fresh = [await identity.mint(tenant, user, ["*"], ttl=3600) for _ in range(8000)]

    async def cold(i: int) -> None:
        await keyset.verify(fresh[i % len(fresh)])

    keyset._verified.clear()
    rate = await per_second(cold, 0.5)
    table.add(
        "JWT verify, kit JwksKeySet, new tokens",
        f"{rate:,.0f}/s",
        ">= 10,000/s per core",
        rate >= 1e4,
    )

    # warm: a client's bearer token seen again (the kit remembers verified tokens)
    async def kit(i: int) -> None:
        await keyset.verify(tokens[i % 100])

    rate = await per_second(kit, 2.0)
    table.add(
        "JWT verify, kit JwksKeySet, repeated tokens",
        f"{rate:,.0f}/s",
        ">= 10,000/s per core",
        rate >= 1e4,
    )

    s = identity.settings
    kid = jwt.get_unverified_header(tokens[0])["kid"]
    jwks = (await identity.client.get("/.well-known/jwks.json")).json()
    # Ed25519 (RFC 9864) is the kit's own PyJWT algorithm: a raw key, as the kit verifies
    key = Ed25519Algorithm.from_jwk(next(k for k in jwks["keys"] if k["kid"] == kid))

    async def raw(i: int) -> None:
        jwt.decode(
            tokens[i % 100],
            key=key,
            algorithms=[ED25519],
            audience=s.jwt_audience,
            issuer=s.jwt_issuer,
            leeway=s.token_leeway,
        )

    rate = await per_second(raw, 2.0)
    table.add("JWT verify, bare PyJWT decode", f"{rate:,.0f}/s", "(comparison)")

    # the hardware's ceiling: the bare signature checks, no JWT parsing around them
    for name, rate in _primitives(2.0):
        table.add(name, f"{rate:,.0f}/s", "(ceiling)")

    async def live(i: int) -> None:
        await authenticator.authenticate(tokens[i % 100])

    rate = await per_second(live, 2.0)
    table.add(
        "  + identity's live tenant/user check", f"{rate:,.0f}/s", "(per request at identity)"
    )


def _primitives(seconds: float) -> list[tuple[str, float]]:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.hazmat.primitives.hashes import SHA256

    message = b"h" * 64 + b"." + b"p" * 300  # the size of a signing input of ours
    ed = ed25519.Ed25519PrivateKey.generate()
    ed_sig = ed.sign(message)
    p256 = ec.generate_private_key(ec.SECP256R1())
    p256_sig = p256.sign(message, ec.ECDSA(SHA256()))
    checks: list[tuple[str, Callable[[], None]]] = [
        ("  Ed25519 verify alone (cryptography)", lambda: ed.public_key().verify(ed_sig, message)),
        (
            "  P-256 verify alone (ES256's)",
            lambda: p256.public_key().verify(p256_sig, message, ec.ECDSA(SHA256())),
        ),
    ]
    out = []
    for name, check in checks:
        done, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds / 2:
            for _ in range(200):
                check()
            done += 200
        out.append((name, done / (time.perf_counter() - t0)))
    return out


@dataclass
class Prepared:
    """What the HTTP parts need, made through the in-process app before the server starts."""

    token: str
    authorize: list[bytes] | None
    api_key: str | None
    as_service: list[bytes] | None = None
    """The same questions from a tenantless service token (how other services ask)."""
    why_no_authorize: str = ""
    why_no_api_key: str = ""


def _paths(identity: Identity) -> dict[str, Any]:
    paths: dict[str, Any] = identity.app.openapi()["paths"]
    return paths


async def _grants(identity: Identity, auth: dict[str, str], user: UUID) -> None:
    """A custom role assigned to the user and a deny policy: decisions that weigh both."""
    role = await identity.client.post(
        "/v1/roles",
        headers=auth,
        json={"name": "bench", "capabilities": ["plans:read", "plans:approve"]},
    )
    if role.status_code == 201:
        await identity.client.post(
            "/v1/role-assignments",
            headers=auth,
            json={"role_id": role.json()["role_id"], "principal_id": str(user)},
        )
    await identity.client.post(
        "/v1/policies",
        headers=auth,
        json={
            "name": "no approvals on weekends",
            "effect": "deny",
            "actions": ["plans:approve"],
            "resource_type": "plan",
            "condition": {"context.weekend": {"eq": True}},
            "priority": 10,
        },
    )


async def prepare(identity: Identity, tenant: UUID, user: UUID) -> Prepared:
    token = await identity.mint(tenant, user, ["*"], ttl=3600)
    paths = _paths(identity)
    auth = {"Authorization": f"Bearer {token}"}
    prepared = Prepared(token, None, None)
    if "/v1/authorize" in paths:
        await _grants(identity, auth, user)
        # a handful of distinct questions, cycled, so the warm cache is the common case
        actions = ["plans:read", "plans:approve", "executions:start", "users:write"]
        questions = [
            {"subject": {"id": str(user)}, "action": a, "resource": {"type": "plan", "id": "p1"}}
            for a in actions
        ]
        prepared.authorize = [json_request("/v1/authorize", token, q) for q in questions]
        service = await identity.mint(
            None, uuid4(), ["authorize:check"], kind=PrincipalKind.SERVICE, ttl=3600
        )
        prepared.as_service = [
            json_request("/v1/authorize", service, {**q, "tenant_id": str(tenant)})
            for q in questions
        ]
        check = await identity.client.post("/v1/authorize", headers=auth, json=questions[0])
        if check.status_code != 200:
            prepared.authorize = None
            prepared.why_no_authorize = f"authorize answered {check.status_code}: {check.text}"
    else:
        prepared.why_no_authorize = "no POST /v1/authorize yet"
    if "/v1/api-keys" in paths and "/v1/token" in paths:
        made = await identity.client.post(
            "/v1/api-keys",
            headers=auth,
            json={"name": "bench", "scopes": ["plans:read"]},
        )
        if made.status_code in (200, 201):
            prepared.api_key = made.json().get("key")
        if prepared.api_key is None:
            prepared.why_no_api_key = f"POST /v1/api-keys answered {made.status_code}: {made.text}"
    else:
        prepared.why_no_api_key = "no POST /v1/api-keys or /v1/token yet"
    return prepared


def server_env(settings: IdentitySettings, sample_rate: float) -> dict[str, str]:
    return {
        "AGENTSUITE_IDENTITY_DATABASE_URL": settings.database_url.get_secret_value(),
        "AGENTSUITE_IDENTITY_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "AGENTSUITE_IDENTITY_KEY_ENCRYPTION_KEY": settings.key_encryption_key.get_secret_value(),
        "AGENTSUITE_IDENTITY_DECISION_SAMPLE_RATE": str(sample_rate),
        "AGENTSUITE_IDENTITY_LOG_JSON": "false",
    }


def _latency_line(load: Load) -> str:
    return f"{load.rate:,.0f}/s  p50 {load.p50:.2f} ms  p99 {load.pct(0.99):.2f} ms"


def _statuses(load: Load) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(load.statuses.items()))


async def over_http(
    settings: IdentitySettings, prepared: Prepared, table: Table, seconds: float, conns: int
) -> None:
    rates = (1.0, 0.0) if prepared.authorize else (1.0,)
    for rate in rates:
        port = free_port()
        with served(server_env(settings, rate), port) as proc:
            await ready(port, proc)
            if rate == rates[0]:
                # the stack's own ceiling on this machine: middleware, routing, no database
                health = request_bytes("GET", "/healthz", headers={})
                load = await hammer(port, [health], connections=conns, seconds=seconds / 2)
                table.add(f"GET /healthz ({conns} conns)", _latency_line(load), "(ceiling)")
            if prepared.authorize:
                load = await hammer(port, prepared.authorize, connections=conns, seconds=seconds)
                ok = load.rate >= 2000 and load.pct(0.99) < 10 and set(load.statuses) == {200}
                table.add(
                    f"authorize, sample rate {rate:g} ({conns} conns)",
                    _latency_line(load),
                    ">= 2,000/s, p99 < 10 ms",
                    ok,
                )
                if set(load.statuses) != {200}:
                    table.add("  statuses", _statuses(load))
                if rate == 0.0:
                    await _authorize_variants(port, prepared, table, seconds)
            elif rate == 1.0:
                table.missing("authorize", prepared.why_no_authorize)
            if rate == rates[-1]:
                await exchanges(port, prepared, table, seconds, conns)


async def _authorize_variants(port: int, prepared: Prepared, table: Table, seconds: float) -> None:
    """One connection (latency without queueing), and a service principal's questions
    (identity skips the live tenant/user lookup for tenantless tokens)."""
    assert prepared.authorize is not None
    load = await hammer(port, prepared.authorize, connections=1, seconds=seconds / 2)
    table.add("authorize, sample rate 0 (1 conn)", _latency_line(load))
    if prepared.as_service:
        load = await hammer(port, prepared.as_service, connections=8, seconds=seconds / 2)
        table.add("authorize, service token, rate 0 (8 conns)", _latency_line(load))
        if set(load.statuses) != {200}:
            table.add("  statuses", _statuses(load))


async def exchanges(port: int, prepared: Prepared, table: Table, seconds: float, n: int) -> None:
    if prepared.api_key is None:
        table.missing("API-key exchange, uncached", prepared.why_no_api_key)
        table.missing("API-key exchange, cached", prepared.why_no_api_key)
        return
    form = urlencode(
        {
            "grant_type": GRANT_TOKEN_EXCHANGE,
            "subject_token": prepared.api_key,
            "subject_token_type": API_KEY_TOKEN_TYPE,
        }
    ).encode()
    raw = request_bytes(
        "POST",
        "/v1/token",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=form,
    )
    status, body = await call(port, raw)
    if status != 200:
        table.missing("API-key exchange, uncached", f"/v1/token answered {status}: {body[:80]!r}")
    else:
        load = await hammer(port, [raw], connections=n, seconds=seconds)
        table.add("API-key exchange, uncached (HTTP)", _latency_line(load))
        if set(load.statuses) != {200}:
            table.add("  statuses", _statuses(load))
    await cached_exchange(port, prepared.api_key, table)


async def cached_exchange(port: int, api_key: str, table: Table) -> None:
    try:
        # imported by name: H4's module may not exist yet in this checkout
        apikeys = importlib.import_module("agentsuite_kit.auth.apikeys")
    except ImportError:
        table.missing("API-key exchange, cached", "no agentsuite_kit.auth.apikeys yet")
        return
    exchanger_cls: Any = getattr(apikeys, "ApiKeyExchanger", None)
    if exchanger_cls is None:
        table.missing("API-key exchange, cached", "no ApiKeyExchanger yet")
        return
    exchanger = exchanger_cls(f"http://127.0.0.1:{port}/v1/token")
    try:
        await exchanger.exchange(api_key)

        async def once(_: int) -> None:
            await exchanger.exchange(api_key)

        rate = await per_second(once, 2.0)
        table.add("API-key exchange, cached (kit)", f"{rate:,.0f}/s")
    finally:
        close = getattr(exchanger, "aclose", None)
        if close is not None:
            await close()


async def run(seconds: float, connections: int) -> None:
    with servers() as (admin, bootstrap, label):
        db = await create_identity_db(admin, Path(tempfile.mkdtemp()) / "pw.json")
        # real argon2 parameters: the bench measures what production pays
        settings = make_settings(
            db.url(admin),
            bootstrap,
            argon2_time_cost=3,
            argon2_memory_cost=65_536,
            argon2_parallelism=4,
        )
        table = Table()
        try:
            async with running(settings, db, admin) as identity:
                tenant = await identity.bare_tenant()
                user = await identity.bare_user(tenant)
                await verification(identity, tenant, user, table)
                prepared = await prepare(identity, tenant, user)
            await over_http(settings, prepared, table, seconds, connections)
        finally:
            await deprovision(admin, [db])
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"identity bench: {label}; one uvicorn worker; {seconds:g}s per HTTP run; "
            f"{os.cpu_count()} CPUs, load average {load} (client, server and databases share them)"
        )
        table.print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="per HTTP measurement")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections")
    args = parser.parse_args()
    quiet_logs()
    asyncio.run(run(args.seconds, args.connections))


if __name__ == "__main__":
    main()
