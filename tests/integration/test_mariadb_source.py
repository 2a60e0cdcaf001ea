"""The SQL source against a real MariaDB started in a temp dir on loopback."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pymysql
import pytest

from irlib.analysis.db import root_blockers
from irlib.frames import check as check_schema
from irlib.incident import parse_incident
from irlib.investigation import Investigation
from irlib.sources.sql import ReadOnlyViolation, SqlSource
from irlib.sources.sql_common import BLOCKING, CONNECTIONS, DEADLOCK, SESSIONS, SLOW_LOG
from tests.conftest import serving

pytestmark = pytest.mark.server
MAX_CONNECTIONS = 15
NOW = pd.Timestamp("2026-01-01T00:30:00Z")
PARAMS = """
incident: {id: INC-DB-2, title: shop slow, declared_at: "2026-01-01T00:00:00Z"}
window: {start: "2026-01-01T00:00:00Z", end: "2026-01-01T01:00:00Z"}
service: {name: shop}
sources:
  databases:
    - {name: shop, dsn_env: SHOP_DSN, statement_timeout_s: 5, lock_timeout_s: 2}
"""


@pytest.fixture(scope="module")
def maria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from irlib.servers.mariadb import start_mariadb
    with serving(lambda: start_mariadb(tmp_path_factory.mktemp("maria"), max_connections=MAX_CONNECTIONS)) as server:
        _seed(server)
        yield server


def _conn(server: Any, autocommit: bool = True) -> Any:
    return pymysql.connect(host="127.0.0.1", port=server.port, user=server.extra["user"],
                           password=server.extra["password"], database="shop" if autocommit is not None else None,
                           autocommit=autocommit)


def _seed(server: Any) -> None:
    conn = pymysql.connect(host="127.0.0.1", port=server.port, user=server.extra["user"],
                           password=server.extra["password"], autocommit=True)
    cur = conn.cursor()
    cur.execute("CREATE DATABASE shop")
    cur.execute("CREATE TABLE shop.items (id INT PRIMARY KEY, qty INT) ENGINE=InnoDB")
    cur.execute("INSERT INTO shop.items VALUES " + ",".join(f"({i}, 1)" for i in range(1, 51)))
    conn.close()


@pytest.fixture()
def inv(maria: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Investigation]:
    monkeypatch.setenv("SHOP_DSN", maria.dsn("shop"))
    investigation = Investigation(parse_incident(PARAMS, path=tmp_path / "i.yaml", now=NOW), tmp_path / "run")
    yield investigation
    source = investigation._sources.get("sql")
    if source is not None:
        source.close()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert maria.extra["password"].encode() not in path.read_bytes(), f"password leaked into {path}"


def _wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _lock_waits(server: Any) -> int:
    conn = _conn(server)
    try:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'")
        return int(cur.fetchone()[0])
    finally:
        conn.close()


def _background(server: Any, sql: str, errors: list[int]) -> tuple[threading.Thread, Any]:
    conn = _conn(server, autocommit=False)

    def work() -> None:
        try:
            conn.cursor().execute(sql)
        except pymysql.MySQLError as exc:
            errors.append(exc.args[0])
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, conn


def test_row_lock_tree_one_root_two_leaves(maria: Any, inv: Investigation) -> None:
    holder = _conn(maria, autocommit=False)
    holder.cursor().execute("UPDATE items SET qty = qty + 1 WHERE id IN (1, 2)")
    holder_pid = holder.thread_id()
    errors: list[int] = []
    waiters = [_background(maria, f"UPDATE items SET qty = 0 WHERE id = {i}", errors) for i in (1, 2)]
    waiter_pids = {c.thread_id() for _, c in waiters}
    try:
        _wait_for(lambda: _lock_waits(maria) >= 2)
        tree = inv.sql.blocking(database="shop")
        sessions = inv.sql.sessions(database="shop")
        idle = inv.sql.long_running(database="shop", min_seconds=0.0)
    finally:
        holder.rollback()
        holder.close()
        for thread, conn in waiters:
            thread.join(10)
            conn.rollback()
            conn.close()
    check_schema(tree, BLOCKING)
    check_schema(sessions, SESSIONS)
    assert root_blockers(tree) == [holder_pid]
    assert list(tree["depth"]) == [0, 1, 1] and set(tree["pid"].iloc[1:]) == waiter_pids
    assert set(tree["blocked_by"].iloc[1:]) == {holder_pid}
    assert (tree["lock_mode"].iloc[1:] == "X").all() and tree["relation"].iloc[1].endswith("items")
    held = idle[idle["pid"] == holder_pid]
    assert list(held["reason"]) == ["idle in transaction"]
    assert errors == []


def test_slow_statement_reaches_the_slow_log_table_and_digests(maria: Any, inv: Investigation) -> None:
    conn = _conn(maria)
    conn.cursor().execute("SELECT SLEEP(0.6)")
    conn.close()
    slow = inv.sql.slow_log(database="shop", min_seconds=0.5)
    check_schema(slow, SLOW_LOG)
    row = slow[slow["query"] == "SELECT SLEEP(0.6)"]
    assert len(row) == 1 and float(row["duration_s"].iloc[0]) >= 0.55
    assert row["fingerprint"].iloc[0] == "select sleep(?)" and row["user"].iloc[0] == "irlib"
    top = inv.sql.top_statements(database="shop", by="max", limit=50)
    assert top["query"].str.contains("SLEEP", case=False).any()


def test_real_deadlock_is_parsed_from_innodb_status(maria: Any, inv: Investigation) -> None:
    first, second = _conn(maria, autocommit=False), _conn(maria, autocommit=False)
    first.cursor().execute("UPDATE items SET qty = 5 WHERE id = 10")
    second.cursor().execute("UPDATE items SET qty = 5 WHERE id = 11")
    errors: list[int] = []

    def cross(conn: Any, row: int) -> None:
        try:
            conn.cursor().execute(f"UPDATE items SET qty = 6 WHERE id = {row}")
        except pymysql.MySQLError as exc:
            errors.append(exc.args[0])
    threads = [threading.Thread(target=cross, args=(first, 11))]
    threads[0].start()
    _wait_for(lambda: _lock_waits(maria) >= 1)
    threads.append(threading.Thread(target=cross, args=(second, 10)))
    threads[1].start()
    for t in threads:
        t.join(15)
    for c in (first, second):
        c.rollback()
        c.close()
    assert errors == [1213]
    frame = inv.sql.innodb_deadlock(database="shop")
    check_schema(frame, DEADLOCK)
    assert len(frame) == 2 and int(frame["victim"].sum()) == 1
    assert frame["query"].str.contains("UPDATE items").all() and set(frame["relation"]) == {"shop.items"}
    stats = inv.sql.db_stats(database="shop")
    assert int(stats["deadlocks"].iloc[0]) >= 1


def test_connections_near_the_limit(maria: Any, inv: Investigation) -> None:
    extra = [_conn(maria) for _ in range(9)]
    try:
        frame = inv.sql.connections(database="shop")
    finally:
        for conn in extra:
            conn.close()
    check_schema(frame, CONNECTIONS)
    assert int(frame["max_connections"].iloc[0]) == MAX_CONNECTIONS
    assert int(frame["total_connections"].iloc[0]) >= 10
    assert int(frame["max_used"].iloc[0]) >= 10


def test_writes_are_refused(maria: Any, inv: Investigation) -> None:
    refused = inv.sql.check(database="shop", name="cleanup", sql="UPDATE items SET qty = 0")
    assert len(refused) == 0
    record = inv.store.records()[-1]
    assert record.status == "rejected" and "read-only" in record.reason
    source = SqlSource(inv.incident)
    with pytest.raises(ReadOnlyViolation, match="READ ONLY"):
        source._db("shop").run("INSERT INTO items VALUES (999, 1)")
    passed = source.check(database="shop", name="no_negative", sql="SELECT COUNT(*) FROM items WHERE qty < 0",
                          expect="zero")
    assert bool(passed.frame["passed"].iloc[0])
    source.close()
    conn = _conn(maria)
    cur = conn.cursor()
    cur.execute("SELECT COUNT(*) FROM items WHERE id = 999")
    assert cur.fetchone()[0] == 0
    conn.close()


def test_not_a_replica(inv: Investigation) -> None:
    frame = inv.sql.replication(database="shop")
    assert len(frame) == 0
    record = inv.store.records()[-1]
    assert record.status == "ok" and any("not a replica" in n for n in record.notes)
