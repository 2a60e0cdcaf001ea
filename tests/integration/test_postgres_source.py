"""The SQL source against a real PostgreSQL 15 (with pg_stat_statements) started in a temp dir on loopback."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg2
import pytest
from matplotlib.figure import Figure

from irlib.analysis.db import blocking_tree_chart, root_blockers
from irlib.dbparse.pglog import deadlocks, parse_pg_log
from irlib.errors import SourceUnavailable, UnsafeOperation
from irlib.frames import check as check_schema
from irlib.incident import parse_incident
from irlib.investigation import Investigation
from irlib.sources.sql import ReadOnlyViolation, SqlSource
from irlib.sources.sql_common import BLOCKING, CONNECTIONS, DB_STATS, SESSIONS, TOP_STATEMENTS
from tests.conftest import serving

pytestmark = pytest.mark.server
MAX_CONNECTIONS = 15
NOW = pd.Timestamp("2026-01-01T00:30:00Z")
PARAMS = """
incident: {id: INC-DB-1, title: orders slow, declared_at: "2026-01-01T00:00:00Z"}
window: {start: "2026-01-01T00:00:00Z", end: "2026-01-01T01:00:00Z"}
service: {name: orders}
sources:
  databases:
    - {name: orders, dsn_env: ORDERS_DSN, statement_timeout_s: 5, lock_timeout_s: 1}
    - {name: plain, dsn_env: PLAIN_DSN}
checks:
  - {name: orphaned_items, database: orders, expect: empty,
     sql: "SELECT i.id FROM order_items i LEFT JOIN orders o ON o.id = i.order_id WHERE o.id IS NULL"}
"""


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from irlib.servers.postgres import start_postgres
    with serving(lambda: start_postgres(tmp_path_factory.mktemp("pg"), max_connections=MAX_CONNECTIONS)) as server:
        _seed(server)
        yield server


def _libpq(server: Any, database: str) -> str:
    return (f"host=127.0.0.1 port={server.port} dbname={database} user={server.extra['user']} "
            f"password={server.extra['password']}")


def _admin(server: Any, database: str = "orders") -> Any:
    conn = psycopg2.connect(_libpq(server, database), application_name="test-admin")
    conn.autocommit = True
    return conn


def _seed(server: Any) -> None:
    admin = _admin(server, "postgres")
    admin.cursor().execute("CREATE DATABASE orders")
    admin.cursor().execute("CREATE DATABASE plain")
    admin.close()
    conn = _admin(server)
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION pg_stat_statements")
    cur.execute("CREATE TABLE orders (id int PRIMARY KEY, status text)")
    cur.execute("CREATE TABLE order_items (id int PRIMARY KEY, order_id int, qty int)")
    cur.execute("CREATE INDEX order_items_qty_idx ON order_items (qty)")
    cur.execute("INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 20000) g")
    cur.execute("INSERT INTO order_items SELECT g, g, 1 FROM generate_series(1, 100) g")
    cur.execute("CREATE FUNCTION sneaky_write() RETURNS int LANGUAGE sql AS "
                "'INSERT INTO orders VALUES (-1, ''x'') RETURNING id'")
    for _ in range(3):
        cur.execute("SELECT count(*) FROM orders WHERE status = 'new'")
    conn.close()


@pytest.fixture()
def inv(pg: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Investigation]:
    monkeypatch.setenv("ORDERS_DSN", pg.dsn("orders"))
    monkeypatch.setenv("PLAIN_DSN", pg.dsn("plain"))
    incident = parse_incident(PARAMS, path=tmp_path / "incident.yaml", now=NOW)
    investigation = Investigation(incident, tmp_path / "run")
    yield investigation
    source = investigation._sources.get("sql")
    if source is not None:
        source.close()
    _assert_no_secret(tmp_path, pg)


def _assert_no_secret(root: Path, server: Any) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert server.extra["password"].encode() not in data, f"password leaked into {path}"


def _wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _waiting(pg: Any, count: int) -> Callable[[], bool]:
    def check() -> bool:
        conn = _admin(pg)
        try:
            cur = conn.cursor()
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            return cur.fetchone()[0] >= count
        finally:
            conn.close()
    return check


def _in_thread(pg: Any, sql: str, errors: list[str]) -> tuple[threading.Thread, Any]:
    conn = _admin(pg)

    def work() -> None:
        try:
            conn.cursor().execute(sql)
        except psycopg2.Error as exc:
            errors.append(exc.pgcode or str(exc))
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, conn


def test_row_lock_gives_a_tree_with_one_root_and_two_leaves(pg: Any, inv: Investigation) -> None:
    holder = psycopg2.connect(_libpq(pg, "orders"))
    holder.cursor().execute("UPDATE orders SET status = 'held' WHERE id IN (1, 2)")
    holder_pid = holder.get_backend_pid()
    errors: list[str] = []
    waiters = [_in_thread(pg, f"UPDATE orders SET status = 'w' WHERE id = {i}", errors) for i in (1, 2)]
    waiter_pids = {c.get_backend_pid() for _, c in waiters}
    try:
        _wait_for(_waiting(pg, 2))
        tree = inv.sql.blocking(database="orders")
        sessions = inv.sql.sessions(database="orders")
    finally:
        holder.rollback()
        holder.close()
        for thread, conn in waiters:
            thread.join(10)
            conn.close()
    check_schema(tree, BLOCKING)
    check_schema(sessions, SESSIONS)
    assert root_blockers(tree) == [holder_pid]
    assert list(tree["depth"]) == [0, 1, 1]
    leaves = tree[tree["depth"] == 1]
    assert set(leaves["blocked_by"]) == {holder_pid} and set(leaves["root_pid"]) == {holder_pid}
    assert set(leaves["pid"]) == waiter_pids
    assert leaves["lock_mode"].notna().all() and (leaves["wait_s"] >= 0).all()
    assert int(tree.iloc[0]["waiters"]) == 2 and tree.iloc[0]["lock_mode"] == "ExclusiveLock"
    blocked = sessions[sessions["pid"].isin(list(leaves["pid"]))]
    assert all(list(b) == [str(holder_pid)] for b in blocked["blocked_by"])
    assert isinstance(blocking_tree_chart(tree), Figure)
    assert errors == []


def test_idle_in_transaction_is_listed_as_long_running(pg: Any, inv: Investigation) -> None:
    idle = psycopg2.connect(_libpq(pg, "orders"))
    idle.cursor().execute("SELECT 1")
    idle_pid = idle.get_backend_pid()
    try:
        time.sleep(1.2)
        frame = inv.sql.long_running(database="orders", min_seconds=1.0)
    finally:
        idle.rollback()
        idle.close()
    row = frame[frame["pid"] == idle_pid]
    assert list(row["reason"]) == ["idle in transaction"]
    assert float(row["xact_age_s"].iloc[0]) >= 1.0


def test_slow_statement_appears_in_top_statements_and_slow_log(pg: Any, inv: Investigation) -> None:
    conn = _admin(pg)
    conn.cursor().execute("SELECT pg_sleep(0.6)")
    conn.close()
    top = inv.sql.top_statements(database="orders", by="mean", limit=5)
    check_schema(top, TOP_STATEMENTS)
    sleeper = top[top["query"].str.contains("pg_sleep")]
    assert len(sleeper) == 1 and float(sleeper["mean_s"].iloc[0]) >= 0.55
    assert top.iloc[0]["mean_s"] == top["mean_s"].max()
    slow = inv.sql.slow_log(database="orders", min_seconds=0.5)
    assert slow["query"].str.contains("pg_sleep").any()
    assert (slow["duration_s"] >= 0.5).all()


def test_top_statements_without_the_extension_is_a_clear_gap(inv: Investigation) -> None:
    frame = inv.sql.top_statements(database="plain")
    assert len(frame) == 0 and list(frame.columns)[:3] == ["queryid", "query", "user"]
    record = inv.evidence().iloc[-1]
    assert record["status"] == "unavailable"
    assert "pg_stat_statements extension not installed: CREATE EXTENSION" in record["reason"]


def test_a_real_deadlock_is_counted_and_logged(pg: Any, inv: Investigation) -> None:
    first, second = psycopg2.connect(_libpq(pg, "orders")), psycopg2.connect(_libpq(pg, "orders"))
    first.cursor().execute("UPDATE orders SET status = 'd1' WHERE id = 10")
    second.cursor().execute("UPDATE orders SET status = 'd2' WHERE id = 11")
    errors: list[str] = []

    def cross(conn: Any, row: int) -> None:
        try:
            conn.cursor().execute(f"UPDATE orders SET status = 'x' WHERE id = {row}")
        except psycopg2.Error as exc:
            errors.append(exc.pgcode)
    threads = [threading.Thread(target=cross, args=(first, 11)), threading.Thread(target=cross, args=(second, 10))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    first.rollback(), second.rollback(), first.close(), second.close()
    assert errors == ["40P01"]

    def counted() -> bool:
        stats = SqlSource(inv.incident).db_stats(database="orders").frame
        return int(stats.loc[stats["database"] == "orders", "deadlocks"].iloc[0]) >= 1
    _wait_for(counted, 15)
    stats = inv.sql.db_stats(database="orders")
    from irlib.frames import check as frame_check
    frame_check(stats, DB_STATS)
    assert stats.iloc[0]["database"] == "orders" and int(stats.iloc[0]["deadlocks"]) >= 1
    report = deadlocks(parse_pg_log((pg.workdir / "postgres.log").read_text(errors="replace")))
    assert len(report) >= 2 and report["victim"].sum() >= 1
    assert report["query"].str.contains("UPDATE orders").all()


def test_connections_near_the_limit(pg: Any, inv: Investigation) -> None:
    extra = [_admin(pg) for _ in range(9)]
    try:
        frame = inv.sql.connections(database="orders")
    finally:
        for conn in extra:
            conn.close()
    check_schema(frame, CONNECTIONS)
    assert int(frame["max_connections"].iloc[0]) == MAX_CONNECTIONS
    assert int(frame["total_connections"].iloc[0]) >= 10
    assert float(frame["ratio"].iloc[0]) >= 10 / MAX_CONNECTIONS
    assert frame.loc[frame["application"] == "test-admin", "connections"].sum() >= 9
    notes = inv.store.records()[-1].notes
    assert any("of max_connections" in n for n in notes) == (float(frame["ratio"].iloc[0]) >= 0.8)


def test_checks_are_read_only(pg: Any, inv: Investigation) -> None:
    ok = inv.sql.check(database="orders", name="orphaned_items")
    assert bool(ok["passed"].iloc[0]) and int(ok["result_rows"].iloc[0]) == 0
    refused = inv.sql.check(database="orders", name="cleanup", sql="DELETE FROM order_items")
    assert len(refused) == 0
    record = inv.store.records()[-1]
    assert record.status == "rejected" and "read-only" in record.reason
    source = SqlSource(inv.incident)
    with pytest.raises(ReadOnlyViolation) as server_refusal:
        source.check(database="orders", name="sneaky", sql="SELECT sneaky_write()")
    assert isinstance(server_refusal.value, UnsafeOperation)
    assert "read-only transaction" in server_refusal.value.message
    source.close()


def test_the_sources_session_refuses_writes(pg: Any, inv: Investigation) -> None:
    source = SqlSource(inv.incident)
    with pytest.raises(ReadOnlyViolation, match="read-only"):
        source._db("orders").run("INSERT INTO orders VALUES (-5, 'nope')")
    settings = source._db("orders").run("SELECT current_setting('statement_timeout') AS st, "
                                        "current_setting('lock_timeout') AS lt").rows[0]
    assert settings == {"st": "5s", "lt": "1s"}
    source.close()
    conn = _admin(pg)
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM orders WHERE id < 0")
    assert cur.fetchone()[0] == 0
    conn.close()


def test_statement_timeout_is_a_recorded_gap(inv: Investigation) -> None:
    source = SqlSource(inv.incident)
    with pytest.raises(SourceUnavailable, match="statement timeout"):
        source._db("orders").run("SELECT pg_sleep(6)")
    source.close()


def test_replication_and_table_health(pg: Any, inv: Investigation) -> None:
    conn = _admin(pg)
    for _ in range(20):
        conn.cursor().execute("SELECT count(*) FROM orders WHERE status = 'new'")
    conn.close()

    def seen() -> bool:
        frame = SqlSource(inv.incident).table_health(database="orders", min_rows=10000).frame
        return "public.orders" in set(frame["relation"])
    _wait_for(seen, 10)
    repl = inv.sql.replication(database="orders")
    assert len(repl) == 0
    assert any("no replica" in n for n in inv.store.records()[-1].notes)
    health = inv.sql.table_health(database="orders", min_rows=10000)
    seq = health[health["issue"] == "heavy_seq_scan"]
    assert "public.orders" in set(seq["relation"])
    unused = health[health["issue"] == "unused_index"]
    assert "order_items_qty_idx" in set(unused["index_name"])


def test_bad_credentials_and_missing_env_never_echo_the_dsn(pg: Any, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = pg.dsn("orders").replace(pg.extra["password"], "Wr0ngSecretValue")
    monkeypatch.setenv("ORDERS_DSN", wrong)
    monkeypatch.delenv("PLAIN_DSN", raising=False)
    incident = parse_incident(PARAMS, path=tmp_path / "i.yaml", now=NOW)
    inv = Investigation(incident, tmp_path / "run")
    assert len(inv.sql.sessions(database="orders")) == 0
    assert len(inv.sql.sessions(database="plain")) == 0
    first, second = inv.store.records()
    assert first.status == second.status == "unavailable"
    reasons = first.reason + second.reason
    assert "Wr0ngSecretValue" not in reasons and "PLAIN_DSN is not set" in reasons
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"Wr0ngSecretValue" not in path.read_bytes()
