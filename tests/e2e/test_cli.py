"""`agentsuite up` then `down` on a fresh home: everything comes up, nothing stays behind."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest
from aiokafka import AIOKafkaProducer

from agentsuite_cli.embedded import free_port, free_ports
from agentsuite_contracts.deadletter import DeadLetter, dead_letter_topic, retry_topic
from agentsuite_contracts.registry import SERVICES, TOPICS
from agentsuite_contracts.topic_names import PLANNING_PLANS_V1
from agentsuite_kit.messaging.admin import list_topics
from agentsuite_kit.service import installed

ROOT = Path(__file__).parents[2]


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentsuite_cli.main", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )


def processes_under(home: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if str(home) in cmd and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


def stack_pids(home: Path) -> set[int]:
    """The postmaster with its backends, and the broker."""
    pids = {int((home / "broker" / "broker.pid").read_text())}
    postmaster = int((home / "pg" / "data" / "postmaster.pid").read_text().split()[0])
    pids.add(postmaster)
    pids.update(c.pid for c in psutil.Process(postmaster).children(recursive=True))
    return pids


def alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.add(pid)
        except psutil.NoSuchProcess:
            pass
    return out


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    # embedded on fresh ports, whatever the surrounding lane points at
    base = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSUITE_")}
    return base | {
        "AGENTSUITE_HOME": str(tmp_path / "home"),
        "AGENTSUITE_BASE_PORT": str(free_ports(10)),
        "AGENTSUITE_PG_PORT": str(free_port()),
        "AGENTSUITE_KAFKA_PORT": str(free_port()),
        "COLUMNS": "200",
    }


GROUP = "execution.plans"
# a topic nothing writes to in this test (identity's carry its own events once it runs;
# README's execution example and `agentsuite publish` write to planning.plans.v1)
QUIET = next(
    t.name
    for t in TOPICS
    if (t.owner == "audit" or t.owner == "planning") and t.name != PLANNING_PLANS_V1
)
DLQ_HEADERS = [
    (k, v.encode())
    for k, v in DeadLetter(
        reason="invalid",
        error="bad",
        topic=TOPICS[1].name,
        partition=0,
        offset=0,
        consumer=GROUP,
        failed_at=datetime.now(UTC),
    )
    .headers()
    .items()
]


# the plan of README's execution example, as it is POSTed to planning: an llm step through
# the gateway's offline `default` model (it echoes), then a builtin tool using its answer
README_PLAN = {
    "name": "hello",
    "goal": "say hello",
    "reason": "first",
    "phases": [
        {
            "key": "main",
            "name": "Main",
            "steps": [
                {
                    "key": "ask",
                    "name": "Ask",
                    "kind": "llm",
                    "llm": {"prompt": "hello ${inputs.name}", "model": "default"},
                },
                {
                    "key": "greet",
                    "name": "Greet",
                    "kind": "tool",
                    "depends_on": ["ask"],
                    "tool": {
                        "tool": "builtin.echo",
                        "input": {"said": "${steps.ask.output.content}"},
                    },
                },
            ],
        }
    ],
}


def test_up_status_tail_down_leaves_no_process(env: dict[str, str]) -> None:  # noqa: C901, PLR0915  one end-to-end scenario, step by step, as a person would run it
    home = Path(env["AGENTSUITE_HOME"])
    pids: set[int] = set()
    bootstrap = f"127.0.0.1:{env['AGENTSUITE_KAFKA_PORT']}"
    try:
        up = cli(env, "up")
        assert up.returncode == 0, up.stdout + up.stderr
        assert "postgres (embedded)" in up.stdout
        assert "running" in up.stdout

        status = cli(env, "status")
        # postgres, the broker and every installed service (catalog made this 6, not 5)
        assert status.stdout.count("running") == 2 + len(installed()), status.stdout
        assert "platform operator credential" in up.stdout
        operator = home / "credentials" / "platform-operator.json"
        assert operator.stat().st_mode & 0o777 == 0o600
        for svc in SERVICES[1:]:  # every other service has its own credential waiting
            assert (home / "credentials" / f"{svc}.json").stat().st_mode & 0o777 == 0o600

        made = cli(
            env,
            "tenant",
            "create",
            "acme",
            "--name",
            "Acme",
            "--admin-email",
            "admin@acme.example",
            "--admin-password",
            "correct horse battery staple",
        )
        assert made.returncode == 0, made.stdout + made.stderr
        assert "acme" in made.stdout
        listed = cli(env, "tenant", "list")
        assert listed.returncode == 0, listed.stdout + listed.stderr
        assert "acme" in listed.stdout

        # README's example: the admin signs in and asks identity for a decision
        identity_url = f"http://127.0.0.1:{env['AGENTSUITE_BASE_PORT']}"
        signed_in = httpx.post(
            f"{identity_url}/v1/token",
            data={
                "grant_type": "password",
                "tenant": "acme",
                "username": "admin@acme.example",
                "password": "correct horse battery staple",
            },
        )
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["access_token"]
        decided = httpx.post(
            f"{identity_url}/v1/authorize",
            json={"action": "plans:approve", "resource": {"type": "plan", "id": "p-1"}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["allowed"] is True  # the first admin owns the tenant

        # README's gateway example: the same token, the built-in offline model, no network
        gateway_url = f"http://127.0.0.1:{int(env['AGENTSUITE_BASE_PORT']) + 5}"
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{gateway_url}/readyz", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        answered = httpx.post(
            f"{gateway_url}/v1/chat/completions",
            json={"model": "default", "messages": [{"role": "user", "content": "ping"}]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert answered.status_code == 200, answered.text
        assert answered.json()["choices"][0]["message"]["content"] == "ping"

        # README's execution example: planning approves the plan, execution runs it once
        # the approval has come through the broker; the llm step goes through the gateway
        auth = {"Authorization": f"Bearer {token}"}
        planning_url = f"http://127.0.0.1:{int(env['AGENTSUITE_BASE_PORT']) + 3}"
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{planning_url}/readyz", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        made_plan = httpx.post(
            f"{planning_url}/v1/plans", json=README_PLAN, headers=auth, timeout=30
        )
        assert made_plan.status_code == 201, made_plan.text
        plan_id = made_plan.json()["id"]
        approved = httpx.post(
            f"{planning_url}/v1/plans/{plan_id}/versions/1/approve",
            json={},
            headers=auth,
            timeout=30,
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["plan"]["status"] == "approved"
        execution_url = f"http://127.0.0.1:{int(env['AGENTSUITE_BASE_PORT']) + 4}"
        started = None
        for _ in range(300):  # the approval reaches execution's projection through the broker
            started = httpx.post(
                f"{execution_url}/v1/executions",
                json={"plan_id": plan_id, "inputs": {"name": "ada"}},
                headers=auth,
                timeout=10,
            )
            if started.status_code == 201:
                break
            time.sleep(0.1)
        assert started is not None
        assert started.status_code == 201, started.text
        run_url = f"{execution_url}/v1/executions/{started.json()['execution_id']}"
        for _ in range(600):
            run = httpx.get(run_url, headers=auth).json()
            if run["status"] in ("completed", "failed"):
                break
            time.sleep(0.1)
        assert run["status"] == "completed", run
        assert run["outputs"] == {"greet": {"said": "hello ada"}}

        # `agentsuite publish` stands in for a service: archive the plan as planning would,
        # and execution then refuses a new run of it
        tenant_id = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["tid"]
        archived = home / "plan-archived.json"
        archived.write_text(json.dumps({"type": "planning.plan.archived", "plan_id": plan_id}))
        published = cli(env, "publish", str(archived), "--tenant", tenant_id)
        assert published.returncode == 0, published.stdout + published.stderr
        assert f"published to {PLANNING_PLANS_V1}" in published.stdout
        refused = None
        for _ in range(300):
            refused = httpx.post(
                f"{execution_url}/v1/executions",
                json={"plan_id": plan_id, "inputs": {"name": "ada"}},
                headers=auth,
                timeout=10,
            )
            if refused.status_code == 422:
                break
            time.sleep(0.1)
        assert refused is not None
        assert refused.json()["code"] == "plan_not_runnable", refused.text

        found = asyncio.run(list_topics(bootstrap))
        for t in TOPICS:
            assert found.get(t.name) == t.partitions
            assert f"{t.name}.dlq" not in found  # dead letters are per consumer group now

        password = (home / "pg" / "superuser-password").read_text().strip()
        url = f"postgresql://postgres:{password}@127.0.0.1:{env['AGENTSUITE_PG_PORT']}/postgres"

        async def layout() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(url)
            try:
                return await conn.fetch(  # type: ignore[no-any-return]  # asyncpg is untyped
                    "SELECT d.datname, pg_get_userbyid(d.datdba) AS owner, "
                    "a.rolsuper, a.rolbypassrls FROM pg_database d "
                    "JOIN pg_roles a "
                    "ON a.rolname = replace(d.datname, 'agentsuite_', '') || '_app' "
                    "WHERE d.datname LIKE 'agentsuite_%'"
                )
            finally:
                await conn.close()

        rows = {r["datname"]: r for r in asyncio.run(layout())}
        for svc in SERVICES:
            base = svc.replace("-", "_")
            row = rows[f"agentsuite_{base}"]
            assert row["owner"] == f"{base}_owner"
            assert (row["rolsuper"], row["rolbypassrls"]) == (False, False)

        async def produce() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
            await producer.start()
            try:
                await producer.send_and_wait(
                    QUIET, b'{"hello": "tail"}', key=b"k", headers=[("type", b"x")]
                )
            finally:
                await producer.stop()

        asyncio.run(produce())
        tail = cli(env, "tail", QUIET, "--limit", "1")
        assert tail.returncode == 0, tail.stderr
        line = json.loads(tail.stdout.strip().splitlines()[-1])
        assert line["value"] == {"hello": "tail"}
        assert line["headers"] == {"type": "x"}

        async def dead_letter() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
            await producer.start()
            try:
                await producer.send_and_wait(
                    dead_letter_topic(GROUP), b'{"back": 1}', key=b"k2", headers=DLQ_HEADERS
                )
            finally:
                await producer.stop()

        asyncio.run(dead_letter())
        redrive = cli(env, "redrive", GROUP)
        assert redrive.returncode == 0, redrive.stderr
        assert "redrove 1 message" in redrive.stdout
        # back to that group's first retry tier, due now: no other group sees it
        back = cli(env, "tail", retry_topic(GROUP, 1), "--limit", "1")
        line = json.loads(back.stdout.strip().splitlines()[-1])
        assert line["value"] == {"back": 1}
        assert line["key"] == "k2"
        assert "dlq-reason" not in line["headers"]
        assert line["headers"]["retry-topic"] == TOPICS[1].name
        assert line["headers"]["redriven-from"].startswith(f"{dead_letter_topic(GROUP)}:")

        again = cli(env, "up")  # idempotent: a second `up` reuses what runs
        assert again.returncode == 0, again.stdout + again.stderr
        pids = stack_pids(home)
        assert len(alive(pids)) >= 3  # postmaster, a backend at least, the broker
    finally:
        down = cli(env, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert "postgres" in down.stdout
    assert "broker" in down.stdout
    assert alive(pids) == set()
    assert processes_under(home) == []
    status = cli(env, "status")
    assert status.stdout.count("stopped") == 2, status.stdout


def test_up_against_external_servers_provisions_them_and_down_leaves_them(
    pg_admin_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSUITE_")}
    env = base | {
        "AGENTSUITE_HOME": str(tmp_path / "home"),
        "AGENTSUITE_DATABASE_URL": pg_admin_url,
        "AGENTSUITE_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "AGENTSUITE_BASE_PORT": str(free_ports(10)),
        "COLUMNS": "200",
    }
    up = cli(env, "up")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "postgres (external)" in up.stdout
    assert "kafka (external)" in up.stdout
    assert "***" in up.stdout  # the admin password is masked
    assert not (tmp_path / "home" / "pg").exists()  # nothing embedded was started

    found = asyncio.run(list_topics(kafka_bootstrap))
    assert all(t.name in found for t in TOPICS)

    passwords = json.loads((tmp_path / "home" / "db-passwords.json").read_text())

    async def connect_as_app() -> bool:
        from urllib.parse import urlsplit

        server = urlsplit(pg_admin_url)
        conn = await asyncpg.connect(
            host=server.hostname,
            port=server.port,
            user="planning_app",
            password=passwords["planning_app"],
            database="agentsuite_planning",
        )
        try:
            return bool(
                await conn.fetchval(
                    "SELECT NOT rolsuper FROM pg_roles WHERE rolname = current_user"
                )
            )
        finally:
            await conn.close()

    assert asyncio.run(connect_as_app())
    down = cli(env, "down")
    assert down.returncode == 0
    # the services `up` started stop; the external servers are left alone
    assert down.stdout.strip() == "stopped: " + ", ".join(
        f"service {spec.name}" for spec in installed()
    )


def test_up_hands_a_service_its_app_role_and_jwks_url_only(env: dict[str, str]) -> None:
    """identity, started by `up`, runs with the app role's URL, its own JWKS URL and the
    key-encryption key, and no owner or admin secret (read from the process itself)."""
    base_port = free_ports(10)
    env = env | {"AGENTSUITE_BASE_PORT": str(base_port)}
    home = Path(env["AGENTSUITE_HOME"])
    try:
        up = cli(env, "up")
        assert up.returncode == 0, up.stdout + up.stderr
        state = json.loads((home / "state.json").read_text())
        [identity] = [s for s in state["services"] if s["name"] == "identity"]
        handed: dict[str, str] = psutil.Process(identity["pid"]).environ()
    finally:
        down = cli(env, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert "service identity" in down.stdout

    assert handed["AGENTSUITE_IDENTITY_DATABASE_URL"].startswith(
        "postgresql+asyncpg://identity_app:"
    )
    assert handed["AGENTSUITE_IDENTITY_JWKS_URL"] == (
        f"http://127.0.0.1:{base_port}/.well-known/jwks.json"
    )
    assert handed["AGENTSUITE_IDENTITY_HTTP_PORT"] == str(base_port)
    assert handed["AGENTSUITE_IDENTITY_KEY_ENCRYPTION_KEY"] == (
        (home / "identity-kek").read_text().strip()
    )
    assert not [k for k in handed if k.endswith("MIGRATION_DATABASE_URL")]
    assert "AGENTSUITE_DATABASE_URL" not in handed
    passwords = json.loads((home / "db-passwords.json").read_text())
    secrets = [passwords["identity_owner"], (home / "pg" / "superuser-password").read_text()]
    values = "\n".join(handed.values())
    assert [s for s in secrets if s.strip() in values] == []
    assert "identity_owner" not in values
