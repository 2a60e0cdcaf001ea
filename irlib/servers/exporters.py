"""Real Prometheus exporters on loopback: ``prometheus-node-exporter`` and ``prometheus-postgres-exporter``."""
from __future__ import annotations

import os
from pathlib import Path

from . import ServerProcess, free_port, require_binary, spawn, wait_for_port
from ..errors import IrlibError

NODE_COLLECTORS = ("cpu", "meminfo", "loadavg", "filesystem", "diskstats", "netdev", "stat", "vmstat")


def start_node_exporter(workdir: Path, *, collectors: tuple[str, ...] = NODE_COLLECTORS,
                        timeout_s: float = 20.0) -> ServerProcess:
    """node_exporter with only ``collectors`` enabled (fast scrapes); its log is ``workdir/node-exporter.log``."""
    binary = require_binary("prometheus-node-exporter", "prometheus-node-exporter", "node_exporter")
    port = free_port()
    args = [binary, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
            *(f"--collector.{c}" for c in collectors)]
    return _started("node-exporter", args, port, Path(workdir), dict(os.environ), timeout_s)


def start_postgres_exporter(workdir: Path, dsn: str, *, timeout_s: float = 20.0) -> ServerProcess:
    """postgres_exporter reading ``dsn`` (a ``postgresql://user:pass@host:port/db?sslmode=disable`` URL).

    The DSN goes through ``DATA_SOURCE_NAME`` in the child's environment only, never on the command line.
    """
    binary = require_binary("prometheus-postgres-exporter", "prometheus-postgres-exporter", "postgres_exporter")
    port = free_port()
    env = {**os.environ, "DATA_SOURCE_NAME": dsn}
    args = [binary, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    return _started("postgres-exporter", args, port, Path(workdir), env, timeout_s)


def _started(name: str, args: list[str], port: int, workdir: Path, env: dict[str, str],
             timeout_s: float) -> ServerProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    proc = spawn(args, log=workdir / f"{name}.log", env=env)
    server = ServerProcess(name, proc, port, workdir)
    try:
        wait_for_port(port, timeout_s, proc)
    except IrlibError:
        server.stop()
        raise
    return server
