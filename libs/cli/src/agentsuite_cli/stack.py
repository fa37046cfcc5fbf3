"""`up`/`down` of the whole stack: servers, databases, migrations, topics, services."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

import httpx
import psutil

from agentsuite_cli.embedded import EmbeddedBroker, EmbeddedPostgres, StartError, _kill, port_open
from agentsuite_cli.provision import ServiceDb, provision, service_dbs
from agentsuite_cli.settings import CliSettings
from agentsuite_contracts.registry import SERVICES, TOPICS
from agentsuite_kit.db.migrate import upgrade
from agentsuite_kit.messaging.admin import ensure_topics
from agentsuite_kit.service import ENTRY_POINT_GROUP, ServiceSpec, installed
from agentsuite_kit.settings import env_prefix


async def create_registry_topics(bootstrap: str) -> list[str]:
    """Every topic of the contracts registry that is missing; returns the ones created.
    `up` and docker-compose's `migrate` job both call it: brokers run with auto-creation off."""
    return await ensure_topics(bootstrap, [(t.name, t.partitions) for t in TOPICS])


@dataclass
class ServiceProc:
    name: str
    pid: int
    port: int
    log: str


@dataclass
class State:
    """The services `up` started, so that `down` and `status` find them from another
    process (servers are found from the settings and their own pid files)."""

    services: list[ServiceProc] = field(default_factory=list)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> State | None:
        if not path.exists():
            return None
        raw = json.loads(path.read_text())
        return cls([ServiceProc(**s) for s in raw.get("services", [])])


@dataclass
class Stack:
    settings: CliSettings

    @property
    def home(self) -> Path:
        return self.settings.home.resolve()

    @property
    def state_file(self) -> Path:
        return self.home / "state.json"

    @property
    def pg(self) -> EmbeddedPostgres:
        return EmbeddedPostgres(self.home, self.settings.pg_port, fsync=self.settings.pg_fsync)

    @property
    def broker(self) -> EmbeddedBroker:
        return EmbeddedBroker(self.home, self.settings.kafka_port)

    def admin_url(self) -> str:
        if self.settings.database_url is not None:
            return self.settings.database_url.get_secret_value()
        return self.pg.url()

    def bootstrap(self) -> str:
        return self.settings.kafka_bootstrap_servers or self.broker.bootstrap

    def names(self) -> list[str]:
        """Every service the stack knows: the registry's, then any other installed one by
        name (a service made by `agentsuite new-service` before the registry lists it)."""
        found = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
        return [*SERVICES, *sorted(found - set(SERVICES))]

    def dbs(self) -> list[ServiceDb]:
        return service_dbs(self.names(), self.home / "db-passwords.json")

    def start_servers(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if self.settings.database_url is None:
            self.pg.start()
        if self.settings.kafka_bootstrap_servers is None:
            self.broker.start()

    async def prepare(
        self, specs: list[ServiceSpec], dbs: dict[str, ServiceDb], admin_url: str
    ) -> tuple[list[str], list[str]]:
        """Databases, roles, migrations and topics; returns (db objects, topics) created."""
        created = await provision(admin_url, list(dbs.values()))
        for spec in specs:
            url = dbs[spec.name].url(admin_url, owner=True)
            await asyncio.to_thread(upgrade, spec.migrations, url)
        return created, await create_registry_topics(self.bootstrap())

    def ports(self, names: list[str]) -> dict[str, int]:
        """HTTP port per service: fixed by its place in the registry, so every service is
        handed identity's JWKS URL before identity starts; services the registry does not
        list (tests' samples) follow, by name."""
        extra = sorted(n for n in names if n not in SERVICES)
        order = [*SERVICES, *extra]
        return {n: self.settings.base_port + order.index(n) for n in names}

    def jwks_url(self) -> str:
        port = self.settings.base_port + SERVICES.index("identity")
        return f"http://127.0.0.1:{port}/.well-known/jwks.json"

    def identity_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.base_port + SERVICES.index('identity')}"

    @property
    def credentials(self) -> Path:
        """Where identity writes, once, the platform operator's and each service's credential."""
        return self.home / "credentials"

    def key_encryption_key(self, name: str = "identity-kek") -> str:
        """A service's key-encryption key, minted once, mode 0600: identity's (signing keys
        at rest) or llm-gateway's (provider credentials at rest)."""
        path = self.home / name
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(base64.b64encode(secrets.token_bytes(32)).decode())
        return path.read_text().strip()

    def service_env(
        self, spec: ServiceSpec, db: ServiceDb, admin_url: str, port: int
    ) -> dict[str, str]:
        """What `up` hands a service: the app role's URL only. `up` migrates as the owner
        before services start, so a running service never holds the owner's password.
        Each service is pointed at its own credential file (identity writes it on its first
        start); identity gets the key that encrypts its signing keys, llm-gateway the one
        that encrypts provider credentials, execution the one that encrypts tenant secrets."""
        p = env_prefix(spec.name)
        env = {
            f"{p}DATABASE_URL": db.url(admin_url),
            f"{p}KAFKA_BOOTSTRAP_SERVERS": self.bootstrap(),
            f"{p}HTTP_PORT": str(port),
            f"{p}JWKS_URL": self.jwks_url(),
            f"{p}IDENTITY_TOKEN_URL": f"{self.identity_url()}/v1/token",
            f"{p}IDENTITY_REVOCATIONS_URL": f"{self.identity_url()}/v1/revocations",
            f"{p}CREDENTIALS_FILE": str(self.credentials / f"{spec.name}.json"),
        }
        if spec.name == "identity":
            env |= {
                f"{p}KEY_ENCRYPTION_KEY": self.key_encryption_key(),
                f"{p}PUBLIC_URL": self.identity_url(),
                f"{p}BOOTSTRAP_DIR": str(self.credentials),
                f"{p}BOOTSTRAP_SERVICES": json.dumps([s for s in self.names() if s != "identity"]),
            }
        if spec.name == "llm-gateway":
            # the key id names the file; rotating = add a second key, make it active, restart
            env |= {
                f"{p}CREDENTIAL_KEYS": json.dumps(
                    {"k1": self.key_encryption_key("llm-gateway-kek")}
                ),
                f"{p}CREDENTIAL_KEY_ID": "k1",
            }
        if spec.name == "execution":
            # tenant secrets (tool credentials); rotated the same way
            env |= {
                f"{p}SECRET_KEYS": json.dumps({"k1": self.key_encryption_key("execution-kek")}),
                f"{p}SECRET_KEY_ID": "k1",
            }
        if spec.name == "planning":
            # webhook signing secrets at rest; rotated the same way
            env |= {
                f"{p}TRIGGER_SECRET_KEYS": json.dumps(
                    {"k1": self.key_encryption_key("planning-kek")}
                ),
                f"{p}TRIGGER_SECRET_KEY_ID": "k1",
            }
        return env

    def child_env(self, spec: ServiceSpec, service: dict[str, str]) -> dict[str, str]:
        """The process environment of a service: ours, minus the admin URL and any owner
        URL the caller's shell exported, plus the service's own variables."""
        drop = {"AGENTSUITE_DATABASE_URL", f"{env_prefix(spec.name)}MIGRATION_DATABASE_URL"}
        inherited = {k: v for k, v in os.environ.items() if k not in drop}
        return inherited | service

    def start_services(
        self,
        specs: list[ServiceSpec],
        dbs: dict[str, ServiceDb],
        admin_url: str,
        ports: dict[str, int],
    ) -> list[ServiceProc]:
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        procs: list[ServiceProc] = []
        for spec in specs:
            port = ports[spec.name]
            env = self.child_env(spec, self.service_env(spec, dbs[spec.name], admin_url, port))
            log = logs / f"{spec.name}.log"
            with log.open("ab") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "agentsuite_cli.main", "serve", spec.name],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            procs.append(ServiceProc(spec.name, proc.pid, port, str(log)))
        return procs

    def up(self) -> State:
        self.start_servers()
        specs = installed()
        dbs = {d.service: d for d in self.dbs()}
        admin_url = self.admin_url()
        asyncio.run(self.prepare(specs, dbs, admin_url))
        old = State.load(self.state_file)
        running = [s for s in (old.services if old else []) if psutil.pid_exists(s.pid)]
        names = {s.name for s in running}
        starting = [s for s in specs if s.name not in names]
        ports = self.ports([s.name for s in specs])  # all installed: a restart keeps its port
        state = State(running + self.start_services(starting, dbs, admin_url, ports))
        state.save(self.state_file)
        if any(s.name == "identity" for s in starting):
            self.wait_for_identity()
        self.wait_for_ready([s for s in state.services if s.name in {p.name for p in starting}])
        return state

    def wait_for_ready(self, services: list[ServiceProc], timeout: float = 120.0) -> None:
        """Until every service just started answers `/readyz`: `up` returns a stack that
        serves, not one still importing (a service's first start takes seconds)."""
        deadline = time.monotonic() + timeout
        waiting = list(services)
        while waiting and time.monotonic() < deadline:
            for svc in list(waiting):
                if not psutil.pid_exists(svc.pid):
                    raise StartError(f"{svc.name} exited while starting; see {svc.log}")
                try:
                    url = f"http://127.0.0.1:{svc.port}/readyz"
                    if httpx.get(url, timeout=2).status_code == 200:
                        waiting.remove(svc)
                except httpx.HTTPError:
                    pass
            if waiting:
                time.sleep(0.25)
        if waiting:
            names = ", ".join(s.name for s in waiting)
            raise StartError(
                f"{names} did not become ready within {timeout:.0f}s; see {self.home / 'logs'}"
            )

    def wait_for_identity(self, timeout: float = 90.0) -> None:
        """Until identity answers ready and the operator's credential is on disk: whatever
        runs after `up` (`agentsuite tenant create`) needs both."""
        deadline = time.monotonic() + timeout
        operator = self.credentials / "platform-operator.json"
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"{self.identity_url()}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                ready = False
            if ready and operator.exists():
                return
            time.sleep(0.25)
        raise StartError(
            f"identity did not become ready within {timeout:.0f}s; see {self.home / 'logs'}"
        )

    def down(self) -> list[str]:
        """Stop everything `up` started; return what was stopped."""
        stopped: list[str] = []
        state = State.load(self.state_file)
        for svc in state.services if state else []:
            if psutil.pid_exists(svc.pid):
                _kill(svc.pid)
                stopped.append(f"service {svc.name}")
        if self.broker.pid() is not None:
            self.broker.stop()
            stopped.append("broker")
        if self.pg.pid() is not None:
            self.pg.stop()
            stopped.append("postgres")
        self.state_file.unlink(missing_ok=True)
        return stopped

    def status(self) -> list[tuple[str, str, str]]:
        """(component, state, where) rows."""
        rows: list[tuple[str, str, str]] = []
        if self.settings.database_url is None:
            up = self.pg.pid() is not None and port_open("127.0.0.1", self.pg.port)
            where = f"127.0.0.1:{self.pg.port}"
            syncs = self.pg.syncs() if up else None
            if syncs is not None:
                # off: fast, but a power loss can lose what was committed; worth seeing
                where += " (fsync on)" if syncs else " (fsync off: not durable)"
            rows.append(("postgres (embedded)", _word(up), where))
        else:
            rows.append(("postgres (external)", "configured", _display(self.admin_url())))
        if self.settings.kafka_bootstrap_servers is None:
            up = self.broker.pid() is not None and port_open("127.0.0.1", self.broker.port)
            rows.append(("broker (embedded tansu)", _word(up), self.broker.bootstrap))
        else:
            rows.append(("kafka (external)", "configured", self.bootstrap()))
        state = State.load(self.state_file)
        for svc in state.services if state else []:
            alive = psutil.pid_exists(svc.pid) and port_open("127.0.0.1", svc.port)
            rows.append((f"service {svc.name}", _word(alive), f"http://127.0.0.1:{svc.port}"))
        return rows


def _word(up: bool) -> str:
    return "running" if up else "stopped"


def _display(url: str) -> str:
    """A URL with its password masked."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}:{parts.port}"
        return parts._replace(netloc=netloc).geturl()
    return url


__all__ = ["Stack", "StartError", "State"]
