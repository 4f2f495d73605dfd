"""Real servers for the team-mode tests: a throwaway PostgreSQL cluster and moto's S3 server.

Both listen on 127.0.0.1 only, on a free port, and are gone when their context manager exits.
"""

from __future__ import annotations

import http.client
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mmemo.store.config import libpq_value

HOST = "127.0.0.1"
PG_USER = "mmemo"
#: The system user PostgreSQL runs as when the tests run as root (it refuses to run as root).
PG_SYSTEM_USER = "postgres"
PG_TIMEOUT = 60  # seconds for initdb, start and stop each
_PG_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "jit": "off",
    "max_connections": "50",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
}


class ServerError(RuntimeError):
    """A test server could not be set up, started or stopped."""


def find_postgres_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: from PATH, else the newest
    ``/usr/lib/postgresql/<version>/bin``; None when there is none."""
    candidates: list[Path] = []
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    lib = Path("/usr/lib/postgresql")
    if lib.is_dir():
        versions = [p for p in lib.iterdir() if re.fullmatch(r"\d+(\.\d+)?", p.name)]
        versions.sort(key=lambda p: tuple(int(x) for x in p.name.split(".")), reverse=True)
        candidates += [p / "bin" for p in versions]
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = HOST) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class PostgresServer:
    """A running PostgreSQL cluster: superuser ``user`` with ``password`` (SCRAM) on TCP
    ``host:port``; clients take the password from ``env`` (``PGPASSWORD``), as mmemo does."""

    host: str
    port: int
    user: str
    root: Path = field(repr=False)  # temporary folder: data/, server.log, the unix socket
    password: str = field(repr=False, default="")

    @property
    def env(self) -> dict[str, str]:
        return {"PGPASSWORD": self.password}

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL of database ``dbname`` (psycopg 3 driver)."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{quote(dbname, safe='')}"

    def libpq(self, dbname: str = "postgres") -> str:
        """libpq keyword/value connection string of database ``dbname``."""
        return (
            f"host={self.host} port={self.port} user={libpq_value(self.user)} "
            f"dbname={libpq_value(dbname)}"
        )

    def create_database(self, name: str) -> str:
        """Create database ``name`` (from template1); return its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(
            self.libpq("postgres"), password=self.password, autocommit=True, connect_timeout=10
        ) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)


def _log_tail(log: Path, lines: int = 20) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return "(no server log)"
    return "\n".join(text) or "(server log is empty)"


class _Runner:
    """Runs PostgreSQL programs, as the ``postgres`` system user when we are root."""

    def __init__(self, bindir: Path, cwd: Path) -> None:
        self.bindir = bindir
        self.cwd = cwd
        self.prefix: list[str] = []
        self.account: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self.account = pwd.getpwnam(PG_SYSTEM_USER)
            except KeyError:
                raise ServerError(
                    f"running as root, and PostgreSQL refuses to: no '{PG_SYSTEM_USER}' "
                    "system user to run it as"
                ) from None
            if shutil.which("runuser"):
                self.prefix = ["runuser", "-u", PG_SYSTEM_USER, "--"]
            elif shutil.which("setpriv"):
                self.prefix = [
                    "setpriv", f"--reuid={self.account.pw_uid}",
                    f"--regid={self.account.pw_gid}", "--init-groups", "--",
                ]  # fmt: skip
            else:
                raise ServerError("running as root, and neither runuser nor setpriv is found")

    def chown(self, path: Path) -> None:
        if self.account is not None:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)

    def can_use(self, folder: Path) -> bool:
        """Whether the server's user may create files in ``folder``."""
        if self.account is None:
            return os.access(folder, os.W_OK | os.X_OK)
        test = [*self.prefix, "test", "-w", str(folder), "-a", "-x", str(folder)]
        return subprocess.run(test, cwd="/", capture_output=True, timeout=10).returncode == 0

    def run(self, program: str, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        cmd = [*self.prefix, str(self.bindir / program), *args]
        try:
            return subprocess.run(
                cmd, cwd=self.cwd, capture_output=True, text=True, timeout=PG_TIMEOUT + 10
            )
        except subprocess.TimeoutExpired as exc:
            raise ServerError(f"{program} did not finish in {PG_TIMEOUT + 10} s") from exc


@contextmanager
def postgres_server(base: Path | None = None) -> Iterator[PostgresServer]:
    """Run a fresh PostgreSQL cluster in a temporary folder under ``base`` (the system's temp
    folder when None, or when the ``postgres`` user may not write ``base`` while we are root);
    stop it and remove the folder on exit."""
    bindir = find_postgres_bin()
    if bindir is None:
        raise ServerError("no PostgreSQL server binaries (initdb, pg_ctl) found")
    tmp_base = Path(tempfile.gettempdir())
    runner = _Runner(bindir, tmp_base)
    if base is not None and runner.can_use(base):
        tmp_base = base
    root = Path(tempfile.mkdtemp(prefix="mmemo-pg-", dir=tmp_base))
    runner.cwd = root
    data, log = root / "data", root / "server.log"
    started = False
    try:
        root.chmod(0o700)
        password = secrets.token_urlsafe(18)
        pwfile = root / "password"
        pwfile.write_text(password + "\n")
        runner.chown(root)
        runner.chown(pwfile)
        # TCP clients must give the password (a shared CI host has other local users); the
        # unix socket lives in the 0700 folder.
        done = runner.run(
            "initdb",
            ["-D", str(data), "-U", PG_USER, "-E", "UTF8", "--no-locale", "--auth-local=trust",
             "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "--no-sync",
             "--no-instructions"],
        )  # fmt: skip
        pwfile.unlink()
        if done.returncode != 0:
            raise ServerError(
                f"initdb failed (exit {done.returncode}):\n{done.stdout}{done.stderr}"
            )
        # Sockets paths are limited to ~107 bytes; a long root gets TCP only.
        sockets = str(root) if len(str(root)) < 80 else ""
        settings = {**_PG_SETTINGS, "listen_addresses": HOST, "unix_socket_directories": sockets}
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\n# mmemo.testing.servers\n")
            conf.writelines(f"{key} = '{value}'\n" for key, value in settings.items())
        for attempt in range(3):
            port = free_port()
            start = ["start", "-D", str(data), "-l", str(log), "-w", "-t", str(PG_TIMEOUT),
                     "-o", f"-p {port}"]  # fmt: skip
            done = runner.run("pg_ctl", start)
            started = True  # the server may be up even when pg_ctl says otherwise
            if done.returncode == 0 and port_open(port):
                break
            _stop(runner, data)
            started = False
            if "could not bind" not in _log_tail(log) or attempt == 2:
                raise ServerError(
                    f"PostgreSQL did not start (pg_ctl exit {done.returncode}):\n"
                    f"{done.stdout}{done.stderr}\nserver log (tail):\n{_log_tail(log)}"
                )
        yield PostgresServer(HOST, port, PG_USER, root, password)
    finally:
        try:
            if started:
                _stop(runner, data)
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _stop(runner: _Runner, data: Path) -> None:
    """Stop the cluster at ``data`` (immediate shutdown); kill the postmaster if that fails."""
    done = runner.run("pg_ctl", ["stop", "-D", str(data), "-m", "immediate", "-w",
                                 "-t", str(PG_TIMEOUT)])  # fmt: skip
    if done.returncode == 0:
        return
    pidfile = data / "postmaster.pid"
    with suppress(OSError, ValueError, IndexError):
        os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)


@dataclass(frozen=True)
class S3Server:
    """moto's S3-compatible server on ``endpoint``; ``env`` points AWS clients at it."""

    endpoint: str
    env: dict[str, str]

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    def create_bucket(self, name: str) -> None:
        """Create bucket ``name`` (plain HTTP PUT; moto does not check signatures)."""
        self._request("PUT", f"/{quote(name)}")

    def reset(self) -> None:
        """Drop every bucket: moto's state is shared by all servers of this process."""
        self._request("POST", "/moto-api/reset")

    def client(self) -> Any:
        """A boto3 S3 client for this server."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.env["AWS_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )

    def _request(self, method: str, path: str) -> None:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            conn.request(method, path, body=b"")
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        if response.status >= 300:
            raise ServerError(f"S3 {method} {path}: HTTP {response.status}: {body[:500]!r}")


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """Run moto's standalone server on 127.0.0.1 and a free port; stop it on exit."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",  # never ask the instance metadata service
        }
        yield S3Server(endpoint, env)
    finally:
        server.stop()
