"""A real PostgreSQL 15 on loopback, in a temp directory, with ``pg_stat_statements`` preloaded.

``initdb`` and ``postgres`` refuse to run as root, so when we are root they run as the ``postgres`` user in a
private directory owned by it (removed again by :meth:`PostgresServer.stop`).  The superuser is ``irlib`` with a
random password; connections over TCP need the password (scram-sha-256), the Unix socket trusts local users.
"""
from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import ServerProcess, free_port, require_binary, spawn, wait_for_port
from ..errors import IrlibError

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "irlib"
RUN_AS = "postgres"
DEFAULT_SETTINGS: dict[str, str] = {
    "listen_addresses": "127.0.0.1",
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track": "all",
    "shared_buffers": "16MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "deadlock_timeout": "200ms",
    "log_min_duration_statement": "500",
    "log_lock_waits": "on",
    "log_line_prefix": "%m [%p] %q%u@%d ",
    "track_io_timing": "on",
}


@dataclass
class PostgresServer(ServerProcess):
    """A running PostgreSQL; ``extra`` holds ``user``, ``password`` and ``socket_dir``; ``private_dir`` is removed
    on stop."""

    private_dir: Path | None = None

    def dsn(self, database: str = "postgres", *, driver: str = "postgresql+psycopg2") -> str:
        """A SQLAlchemy URL for ``database`` over TCP with the superuser's password."""
        return (f"{driver}://{self.extra['user']}:{self.extra['password']}@127.0.0.1:{self.port}/{database}")

    def stop(self, timeout_s: float = 15.0) -> None:
        """Fast shutdown (SIGINT: abort open transactions, disconnect clients), then remove the private dir."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGINT)
                self.proc.wait(timeout=timeout_s)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                super().stop(timeout_s)
        if self.private_dir is not None:
            shutil.rmtree(self.private_dir, ignore_errors=True)


def start_postgres(workdir: Path, *, max_connections: int = 20, settings: dict[str, str] | None = None,
                   timeout_s: float = 60.0) -> PostgresServer:
    """initdb a fresh cluster and start ``postgres`` on a free loopback port; the server log is
    ``workdir/postgres.log``.  ``settings`` override :data:`DEFAULT_SETTINGS` (``-c name=value``)."""
    initdb = require_binary("initdb", "postgresql-15", str(PG_BIN / "initdb"))
    postgres = require_binary("postgres", "postgresql-15", str(PG_BIN / "postgres"))
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    user = RUN_AS if os.geteuid() == 0 else None
    private = _private_dir(user)
    data, sock = private / "data", private / "sock"
    sock.mkdir()
    _chown(sock, user)
    password = secrets.token_hex(12)
    pwfile = private / "pwfile"
    pwfile.write_text(password + "\n", encoding="utf-8")
    _chown(pwfile, user)
    _run_initdb(initdb, data, pwfile, user, workdir / "initdb.log")
    pwfile.unlink()
    port = free_port()
    conf = {**DEFAULT_SETTINGS, "max_connections": str(max_connections), **(settings or {})}
    args = [postgres, "-D", str(data), "-p", str(port), "-k", str(sock)]
    for name, value in conf.items():
        args += ["-c", f"{name}={value}"]
    proc = spawn(args, log=workdir / "postgres.log", user=user, cwd=private)
    server = PostgresServer(name="postgres", proc=proc, port=port, workdir=workdir,
                            extra={"user": SUPERUSER, "password": password, "socket_dir": str(sock)},
                            private_dir=private)
    try:
        wait_for_port(port, timeout_s, proc)
        _wait_ready(server, timeout_s)
    except IrlibError as exc:
        server.stop()
        raise IrlibError(f"PostgreSQL did not start: {exc}; see {workdir / 'postgres.log'}") from exc
    return server


def _private_dir(user: str | None) -> Path:
    private = Path(tempfile.mkdtemp(prefix="irlib-pg-"))
    _chown(private, user)
    return private


def _chown(path: Path, user: str | None) -> None:
    if user:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _run_initdb(initdb: str, data: Path, pwfile: Path, user: str | None, log: Path) -> None:
    args = [initdb, "-D", str(data), "-U", SUPERUSER, "--pwfile", str(pwfile), "--auth-local=trust",
            "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"]
    kwargs: dict[str, object] = {"user": user} if user else {}
    with open(log, "wb") as out:
        done = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, timeout=120, check=False,
                              cwd=str(data.parent), **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise IrlibError(f"initdb failed with status {done.returncode}; see {log}")


def _wait_ready(server: PostgresServer, timeout_s: float) -> None:
    """The port opens before the cluster accepts logins; ``pg_isready`` tells when it does."""
    isready = str(PG_BIN / "pg_isready")
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        done = subprocess.run([isready, "-h", "127.0.0.1", "-p", str(server.port), "-q"], check=False, timeout=10)
        if done.returncode == 0:
            return
        if server.proc.poll() is not None:
            raise IrlibError(f"postgres exited with status {server.proc.returncode}")
        time.sleep(0.1)
    raise IrlibError(f"not ready within {timeout_s:.0f} s")
