"""Real Alertmanager notifying the real webhook receiver; real node_exporter and postgres_exporter."""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from irlib.servers import ServerMissing
from irlib.webhook import Receiver, make_server
from tests.conftest import missing_server

pytestmark = pytest.mark.server


def scrape(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as resp:
        return resp.read().decode()


def test_alertmanager_declares_then_resolves_through_the_webhook(tmp_path: Path) -> None:
    from irlib.servers.alertmanager import active_alerts, alertmanager_config, post_alerts, start_alertmanager

    runs: list[Path] = []
    receiver = Receiver(state_dir=tmp_path / "state", template={"service": {"name": "x"}},
                        run=lambda p: runs.append(p) or {"exit_code": 0})
    web = make_server(receiver)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        config = alertmanager_config(f"http://127.0.0.1:{web.server_address[1]}/alerts", group_wait="1s",
                                     group_interval="2s")
        try:
            am = start_alertmanager(tmp_path / "am", config)
        except ServerMissing as exc:
            missing_server(str(exc))
        try:
            start = pd.Timestamp.now(tz="UTC").floor("s") - pd.Timedelta(seconds=30)
            alert: dict[str, Any] = {"labels": {"alertname": "OrdersDown", "service": "orders", "namespace": "lab"},
                                     "annotations": {"summary": "orders is down"}, "startsAt": start.isoformat()}
            post_alerts(am.url, [alert])
            assert [a["labels"]["alertname"] for a in active_alerts(am.url)] == ["OrdersDown"]
            folders = wait_for(lambda: [p for p in (tmp_path / "state").glob("orders*") if p.is_dir()], 20)
            post_alerts(am.url, [alert])  # Prometheus re-sends firing alerts every evaluation
            post_alerts(am.url, [{**alert, "endsAt": pd.Timestamp.now(tz="UTC").isoformat()}])
            wait_for(lambda: (folders[0] / "resolved.json").is_file(), 20)
        finally:
            am.stop()
        assert receiver.wait(10) and len(runs) == 1
        firing = json.loads((folders[0] / "firing.json").read_text())
        assert firing["alerts"][0]["starts_at"] == start.isoformat()
        assert "service:\n  name: orders\n  namespace: lab" in (folders[0] / "params.yaml").read_text()
    finally:
        web.shutdown()
        web.server_close()


def wait_for(check: Any, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"condition not met within {timeout_s} s")


def test_node_exporter_serves_host_metrics(tmp_path: Path) -> None:
    from irlib.servers.exporters import start_node_exporter

    try:
        node = start_node_exporter(tmp_path)
    except ServerMissing as exc:
        missing_server(str(exc))
    try:
        text = scrape(node.url)
        assert "node_load1 " in text and "node_memory_MemAvailable_bytes " in text
    finally:
        node.stop()


def test_postgres_exporter_reads_a_real_postgres(tmp_path: Path) -> None:
    from irlib.servers.exporters import start_postgres_exporter
    from irlib.servers.postgres import start_postgres

    try:
        pg = start_postgres(tmp_path / "pg")
    except ServerMissing as exc:
        missing_server(str(exc))
    try:
        dsn = f"postgresql://{pg.extra['user']}:{pg.extra['password']}@127.0.0.1:{pg.port}/postgres?sslmode=disable"
        exporter = start_postgres_exporter(tmp_path, dsn)
        try:
            text = wait_for(lambda: next((t for t in [scrape(exporter.url)] if "pg_up 1" in t), ""), 15)
            assert "pg_stat_database_numbackends" in text
        finally:
            exporter.stop()
    finally:
        pg.stop()
