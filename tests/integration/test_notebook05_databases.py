"""Notebook 05 (database) executed with papermill against real servers: on PostgreSQL under lock contention it shows
the blocking tree with the right root; the same notebook runs against MariaDB."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from irlib.runner import run_incident
from irlib.servers import ServerMissing
from tests.conftest import missing_server, serving

PARAMS = """
incident: {{id: DB-{kind}, title: database check, declared_at: "2026-11-20T14:30:00Z"}}
window: {{start: "2026-11-20T13:00:00Z", end: "2026-11-20T15:00:00Z"}}
service: {{name: orders, namespace: shop}}
sources: {{databases: [{{name: orders, dsn_env: NB05_DSN, statement_timeout_s: 5, lock_timeout_s: 2}}]}}
"""


def _run(tmp_path: Path, kind: str) -> tuple[str, dict[str, Any]]:
    params = tmp_path / "incident.yaml"
    params.write_text(PARAMS.format(kind=kind))
    result = run_incident(params, steps="05", jobs=1, reports_dir=tmp_path / "reports")
    assert dict(result.steps) == {"05": "ok"}
    html = (result.run_dir / "html" / "05-database.html").read_text()
    roots = json.loads((result.run_dir / "findings" / "db_root_blockers.json").read_text())["value"]
    return html, roots


@pytest.fixture()
def postgres(tmp_path: Path) -> Iterator[Any]:
    from irlib.servers.postgres import start_postgres

    with serving(lambda: start_postgres(tmp_path / "pg")) as server:
        yield server


def test_postgres_lock_contention_shows_the_root_blocker(postgres: Any, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg2

    dsn = postgres.dsn("postgres", driver="postgresql")
    admin = psycopg2.connect(dsn)
    admin.autocommit = True
    admin.cursor().execute("CREATE TABLE orders (id int PRIMARY KEY, qty int); INSERT INTO orders VALUES (1, 1)")
    holder = psycopg2.connect(dsn, application_name="migration")
    holder.cursor().execute("UPDATE orders SET qty = 2 WHERE id = 1")  # holds the row lock, stays open
    holder_pid = holder.info.backend_pid
    waiters = [psycopg2.connect(dsn, application_name=f"waiter-{i}") for i in range(2)]
    threads = [threading.Thread(target=_blocked_update, args=(c,), daemon=True) for c in waiters]
    for t in threads:
        t.start()
    time.sleep(1.0)
    monkeypatch.setenv("NB05_DSN", dsn)
    try:
        html, roots = _run(tmp_path, "pg")
    finally:
        holder.rollback()
        holder.close()
    assert roots == {"orders": [holder_pid]}
    assert "blocking tree" in html and f"pid {holder_pid}" in html
    assert dsn.split("@")[0].split(":")[-1] not in html  # the password never reaches the report


def _blocked_update(conn: Any) -> None:
    try:
        conn.cursor().execute("UPDATE orders SET qty = 3 WHERE id = 1")
    except Exception:  # the holder goes away at the end of the test
        pass


def test_the_same_notebook_runs_against_mariadb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from irlib.servers.mariadb import start_mariadb

    try:
        server = start_mariadb(tmp_path / "maria")
    except ServerMissing as exc:
        missing_server(str(exc))
    try:
        monkeypatch.setenv("NB05_DSN", server.dsn("mysql"))
        html, roots = _run(tmp_path, "maria")
    finally:
        server.stop()
    assert roots == {} and "no session waits for a lock" in html
    assert "connections in use" in html and server.extra["password"] not in html
