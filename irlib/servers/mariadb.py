"""A real MariaDB on loopback, in a temp directory (``mariadb-install-db`` then ``mariadbd --no-defaults``).

The server writes its slow log to the ``mysql.slow_log`` table, keeps ``performance_schema`` statement digests and
prints every deadlock to its error log.  An ``--init-file`` creates the account ``irlib`` (random password, all
privileges) reachable over TCP.  When we are root the server runs with ``--user=root`` inside ``workdir``.
"""
from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import ServerProcess, free_port, require_binary, spawn, wait_for_port
from ..errors import IrlibError

USER = "irlib"
DEFAULT_OPTIONS: dict[str, str] = {
    "bind-address": "127.0.0.1",
    "skip-name-resolve": "ON",
    "skip-log-bin": "",
    "innodb-buffer-pool-size": "16M",
    "innodb-log-file-size": "8M",
    "innodb-flush-log-at-trx-commit": "0",
    "innodb-print-all-deadlocks": "ON",
    "innodb-lock-wait-timeout": "20",
    "performance-schema": "ON",
    "slow-query-log": "ON",
    "log-output": "TABLE",
    "long-query-time": "0.5",
    "key-buffer-size": "1M",
    "aria-pagecache-buffer-size": "1M",
}


@dataclass
class MariaDbServer(ServerProcess):
    """A running MariaDB; ``extra`` holds ``user``, ``password`` and ``socket``."""

    def dsn(self, database: str = "mysql", *, driver: str = "mysql+pymysql") -> str:
        """A SQLAlchemy URL for ``database`` over TCP with the ``irlib`` account's password."""
        return f"{driver}://{self.extra['user']}:{self.extra['password']}@127.0.0.1:{self.port}/{database}"


def start_mariadb(workdir: Path, *, max_connections: int = 20, options: dict[str, str] | None = None,
                  timeout_s: float = 60.0) -> MariaDbServer:
    """Install a fresh data directory under ``workdir`` and start ``mariadbd`` on a free loopback port; the error
    log is ``workdir/mariadb.err``.  ``options`` override :data:`DEFAULT_OPTIONS` (``--name=value``)."""
    mariadbd = require_binary("mariadbd", "mariadb-server", "/usr/sbin/mariadbd", "mysqld", "/usr/sbin/mysqld")
    install = require_binary("mariadb-install-db", "mariadb-server", "mysql_install_db")
    workdir = Path(workdir).resolve()
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    run_as = ["--user=root"] if os.geteuid() == 0 else []
    _install(install, data, run_as, workdir / "install-db.log")
    password = secrets.token_hex(12)
    init = workdir / "init.sql"
    init.write_text(_init_sql(password), encoding="utf-8")
    port, sock = free_port(), workdir / "mariadb.sock"
    conf = {**DEFAULT_OPTIONS, "max-connections": str(max_connections), **(options or {})}
    args = [mariadbd, "--no-defaults", *run_as, f"--datadir={data}", f"--socket={sock}", f"--port={port}",
            f"--pid-file={workdir / 'mariadb.pid'}", f"--tmpdir={workdir}", f"--init-file={init}",
            f"--log-error={workdir / 'mariadb.err'}"]
    args += [f"--{name}={value}" if value else f"--{name}" for name, value in conf.items()]
    proc = spawn(args, log=workdir / "mariadb.out", cwd=workdir)
    server = MariaDbServer(name="mariadb", proc=proc, port=port, workdir=workdir,
                           extra={"user": USER, "password": password, "socket": str(sock)})
    try:
        wait_for_port(port, timeout_s, proc)
    except IrlibError as exc:
        server.stop()
        raise IrlibError(f"MariaDB did not start: {exc}; see {workdir / 'mariadb.err'}") from exc
    return server


def _install(install: str, data: Path, run_as: list[str], log: Path) -> None:
    args = [install, "--no-defaults", *run_as, f"--datadir={data}", "--auth-root-authentication-method=normal",
            "--skip-test-db"]
    with open(log, "wb") as out:
        done = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, timeout=180, check=False)
    if done.returncode != 0:
        raise IrlibError(f"mariadb-install-db failed with status {done.returncode}; see {log}")


def _init_sql(password: str) -> str:
    return (f"CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{password}';\n"
            f"CREATE USER IF NOT EXISTS '{USER}'@'localhost' IDENTIFIED BY '{password}';\n"
            f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%' WITH GRANT OPTION;\n"
            f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'localhost' WITH GRANT OPTION;\n")
