"""A real Alertmanager (Debian ``prometheus-alertmanager``) on loopback, routing every alert to a webhook.

Clustering is off (``--cluster.listen-address=``), storage is the temp dir, and the route's timings are short so a
test or the lab sees a notification within seconds of Prometheus sending the alert.
"""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from . import ServerProcess, free_port, require_binary, spawn, wait_for_port
from ..errors import IrlibError


def alertmanager_config(webhook_url: str, *, group_wait: str = "2s", group_interval: str = "10s",
                        repeat_interval: str = "1h", group_by: tuple[str, ...] = ("alertname", "service"),
                        bearer_token_file: str | None = None) -> dict[str, Any]:
    """An Alertmanager configuration with one route to ``webhook_url`` that also sends resolved notifications."""
    webhook: dict[str, Any] = {"url": webhook_url, "send_resolved": True, "max_alerts": 0}
    if bearer_token_file:
        webhook["http_config"] = {"authorization": {"type": "Bearer", "credentials_file": bearer_token_file}}
    return {
        "route": {"receiver": "irlib", "group_by": list(group_by), "group_wait": group_wait,
                  "group_interval": group_interval, "repeat_interval": repeat_interval},
        "receivers": [{"name": "irlib", "webhook_configs": [webhook]}],
    }


def start_alertmanager(workdir: Path, config: dict[str, Any], *, timeout_s: float = 30.0) -> ServerProcess:
    """Start Alertmanager with ``config`` on a free loopback port; its log is ``workdir/alertmanager.log``."""
    binary = require_binary("prometheus-alertmanager", "prometheus-alertmanager", "alertmanager")
    workdir = Path(workdir)
    (workdir / "alertmanager-data").mkdir(parents=True, exist_ok=True)
    config_path = workdir / "alertmanager.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    port = free_port()
    proc = spawn([binary, f"--config.file={config_path}", f"--storage.path={workdir / 'alertmanager-data'}",
                  f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=info",
                  f"--web.external-url=http://127.0.0.1:{port}"], log=workdir / "alertmanager.log")
    server = ServerProcess("alertmanager", proc, port, workdir)
    try:
        wait_for_port(port, timeout_s, proc)
        _wait_ready(server.url, timeout_s)
    except IrlibError:
        server.stop()
        raise
    return server


def _wait_ready(url: str, timeout_s: float) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise IrlibError(f"Alertmanager at {url} was not ready within {timeout_s:.0f} s; see alertmanager.log")


def active_alerts(url: str, *, timeout_s: float = 5.0) -> list[dict[str, Any]]:
    """The alerts Alertmanager holds now (``GET /api/v2/alerts``)."""
    try:
        with urllib.request.urlopen(f"{url}/api/v2/alerts", timeout=timeout_s) as resp:
            data = json.loads(resp.read())
    except (OSError, ValueError) as exc:
        raise IrlibError(f"cannot list alerts from Alertmanager at {url}: {exc}") from exc
    return list(data) if isinstance(data, list) else []


def post_alerts(url: str, alerts: list[dict[str, Any]], *, timeout_s: float = 5.0) -> None:
    """Send alerts to Alertmanager the way Prometheus does (``POST /api/v2/alerts``)."""
    req = urllib.request.Request(f"{url}/api/v2/alerts", data=json.dumps(alerts).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s):
            return
    except OSError as exc:
        raise IrlibError(f"Alertmanager at {url} refused the alerts: {exc}") from exc
