"""Pure parts of the SQL source: the read-only guard, the blocking tree, frames built from rows, DSN scrubbing."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
from matplotlib.figure import Figure

from irlib.analysis.db import blocked_pairs, blocking_tree, blocking_tree_chart, root_blockers
from irlib.errors import SourceUnavailable
from irlib.frames import check
from irlib.sources.sql import check_frame, long_running_frame
from irlib.sources.sql_common import BLOCKING, CHECK, CONNECTIONS, SESSIONS, Rows, frame_of
from irlib.sources.sql_guard import read_only_statement
from irlib.sources.sql_mysql import connections_frame, sessions_frame
from irlib.sources.sql_session import open_database


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM orders", "with x as (select 1) select * from x", "SELECT 'delete; drop' AS s",
    "SELECT 1 -- update later", "SELECT last_update FROM t;",
])
def test_reads_pass_the_guard(sql: str) -> None:
    assert read_only_statement(sql) == ""


@pytest.mark.parametrize("sql,why", [
    ("DELETE FROM t", "must start with"), ("SELECT 1; DELETE FROM t", "one statement"),
    ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "DELETE"),
    ("SELECT * FROM t FOR UPDATE", "UPDATE"), ("SELECT * INTO new_t FROM t", "INTO"),
    ("SELECT pg_terminate_backend(123)", "pg_terminate_backend"), ("SELECT GET_LOCK('a', 10)", "GET_LOCK"),
    ("SELECT set_config('default_transaction_read_only', 'off', false)", "set_config"), ("  ", "empty"),
    ("SET SESSION TRANSACTION READ WRITE", "must start with"),
])
def test_writes_and_escapes_are_refused(sql: str, why: str) -> None:
    assert why in read_only_statement(sql)


def test_blocking_tree_orders_roots_first_and_picks_the_nearest_blocker() -> None:
    sessions = pd.DataFrame({"pid": [1, 2, 3, 4, 5, 6, 7], "blocked_by": [[], ["1"], "{1}", [2, 1], [6], [5], []],
                             "query": list("abcdefg"), "wait_s": [None, 3.0, 2.0, 1.0, 4.0, 4.0, None]})
    tree = blocking_tree(sessions)
    check(tree, BLOCKING)
    assert root_blockers(tree) == [1, 5]
    assert list(tree["pid"]) == [1, 5, 2, 3, 4, 6] and list(tree["depth"]) == [0, 0, 1, 1, 1, 1]
    assert tree.set_index("pid").loc[4, "blocked_by"] == 1 and tree.set_index("pid").loc[1, "waiters"] == 3
    assert 7 not in set(tree["pid"])
    assert isinstance(blocking_tree_chart(tree), Figure)
    assert isinstance(blocking_tree_chart(blocking_tree(pd.DataFrame(columns=["pid", "blocked_by"]))), Figure)


def test_blocking_tree_of_a_cycle_and_of_pairs() -> None:
    cycle = blocking_tree(blocked_pairs([(10, 11), (11, 10)]))
    assert list(cycle["pid"]) == [10, 11] and list(cycle["root_pid"]) == [10, 10]
    chain = blocking_tree(blocked_pairs([(3, 2), (2, 1)]))
    assert list(chain["depth"]) == [0, 1, 2] and list(chain["waiters"]) == [2, 1, 0]


def test_long_running_reasons() -> None:
    sessions = frame_of([
        {"pid": 1, "state": "idle in transaction", "xact_age_s": 100.0, "query_age_s": 100.0},
        {"pid": 2, "state": "active", "xact_age_s": 50.0, "query_age_s": 50.0},
        {"pid": 3, "state": "active", "xact_age_s": 5.0, "query_age_s": 5.0},
        {"pid": 4, "state": "idle", "xact_age_s": None, "query_age_s": 900.0},
    ], SESSIONS)
    frame = long_running_frame(sessions, 30)
    assert list(frame["pid"]) == [1, 2] and list(frame["reason"]) == ["idle in transaction", "long query"]


def test_check_frame_expectations() -> None:
    empty = check_frame("orphans", "orders", "empty", Rows(sql="x", rows=[]))
    check(empty, CHECK)
    assert bool(empty["passed"].iloc[0]) and int(empty["result_rows"].iloc[0]) == 0
    zero = check_frame("n", "orders", "zero", Rows(sql="x", rows=[{"count": 3}]))
    assert not bool(zero["passed"].iloc[0]) and zero["value"].iloc[0] == "3"


def test_mysql_rows_become_the_shared_frames() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0)
    procs = [{"pid": 7, "user": "app", "db": "shop", "host": "10.0.0.5:5123", "command": "Sleep", "mstate": "",
              "query": None, "time_s": 40, "trx_id": "99", "trx_state": "RUNNING", "trx_started": datetime(2026, 1, 1,
              11, 59, 0), "xact_age_s": 60.0, "wait_s": None, "server_now": now},
             {"pid": 8, "user": "app", "db": "shop", "host": "10.0.0.6:5124", "command": "Query",
              "mstate": "Updating", "query": "UPDATE t", "time_s": 12, "trx_id": "100", "trx_state": "LOCK WAIT",
              "trx_started": now, "xact_age_s": 12.0, "wait_s": 12.0, "server_now": now}]
    frame = sessions_frame(procs, [{"pid": 8, "blocker": 7}])
    check(frame, SESSIONS)
    assert list(frame["state"]) == ["idle in transaction", "active"] and list(frame["client"]) == ["10.0.0.5",
                                                                                                  "10.0.0.6"]
    assert list(frame["blocked_by"].iloc[1]) == ["7"] and frame["wait_event_type"].iloc[1] == "Lock"
    assert frame["xact_start"].iloc[0] == pd.Timestamp("2026-01-01 11:59:00", tz="UTC")
    conns = connections_frame([{"command": "Sleep", "in_trx": 0, "user": "app", "db": "shop", "connections": 8}],
                              {"Threads_connected": 9, "Max_used_connections": 12}, 10)
    check(conns, CONNECTIONS)
    assert conns["ratio"].iloc[0] == 0.9 and conns["max_used"].iloc[0] == 12


def test_dsn_problems_never_echo_the_dsn() -> None:
    with pytest.raises(SourceUnavailable, match="ORDERS_DSN is not set"):
        open_database("orders", "", "ORDERS_DSN", 5, 1, 1)
    with pytest.raises(SourceUnavailable) as bad:
        open_database("orders", "not a url S3cretPw", "ORDERS_DSN", 5, 1, 1)
    assert "S3cretPw" not in str(bad.value)
    db = open_database("orders", "postgresql://u:S3cretPw@127.0.0.1:1/x", "ORDERS_DSN", 5, 1, 1)
    assert "S3cretPw" not in db.scrub("failed for postgresql://u:S3cretPw@127.0.0.1:1/x and S3cretPw")
    with pytest.raises(SourceUnavailable) as down:
        db.run("SELECT 1")
    assert "cannot be reached" in str(down.value) and "S3cretPw" not in str(down.value)
    db.engine.dispose()
