"""Offline database parsers on real outputs (tests/fixtures/db, see ATTRIBUTION.md there)."""
from __future__ import annotations

import gzip
import json
import re

import pandas as pd
import pytest

from irlib.dbparse.fingerprint import checksum, fingerprint
from irlib.dbparse.innodb import parse_innodb_deadlock
from irlib.dbparse.mysql_slowlog import digest, parse_slow_log, split_user_host
from irlib.dbparse.pglog import deadlocks, durations, lock_waits, parse_pg_log
from irlib.dbparse.processlist import parse_processlist
from irlib.dbparse.replica import parse_replica_status
from irlib.frames import check
from irlib.sources.sql_common import DEADLOCK, REPLICATION, SESSIONS
from tests.conftest import FIXTURES

DB = FIXTURES / "db"


def _text(name: str) -> str:
    return (DB / name).read_text(encoding="utf-8", errors="replace")


def _expected(report: str) -> dict[str, int]:
    """pt-query-digest report: query ID -> count."""
    pairs = re.findall(r"ID 0x([0-9A-F]+) at byte.*?\n(?:.*\n)*?# Count\s+\d+\s+(\d+)", report)
    return {qid: int(n) for qid, n in pairs}


@pytest.mark.parametrize("name", ["slow001", "slow002", "slow006"])
def test_slow_log_digest_matches_pt_query_digest(name: str) -> None:
    got = digest(parse_slow_log(_text(f"{name}.txt")))
    expected = _expected(_text(f"{name}_report.txt"))
    assert expected and {k: int(v) for k, v in zip(got["checksum"], got["calls"]) if k in expected} == expected


def test_fingerprint_and_total_match_the_json_report() -> None:
    cls = json.loads(_text("json_slow002.txt"))["classes"][0]
    got = digest(parse_slow_log(_text("slow002.txt"))).set_index("checksum")
    row = got.loc[cls["checksum"]]
    assert row["fingerprint"] == cls["fingerprint"]
    assert row["total_s"] == pytest.approx(float(cls["metrics"]["Query_time"]["sum"]))


def test_slow_log_rows() -> None:
    rows = parse_slow_log(_text("slow001.txt"))
    assert list(rows["database"]) == ["test", "sakila"] and list(rows["duration_s"]) == [2.0, 2.0]
    assert rows["at"].iloc[0] == pd.Timestamp("2007-10-15 21:43:52", tz="UTC")
    assert list(rows["query"]) == ["select sleep(2) from n", "select sleep(2) from test.n"]
    assert split_user_host("root[root] @ localhost [127.0.0.1]") == ("root", "127.0.0.1")


def test_fingerprint_rules() -> None:
    assert fingerprint("SELECT * FROM t WHERE id IN (1, 2, 3) AND name = 'x' LIMIT 10, 20") == \
        "select * from t where id in(?+) and name = ? limit ?"
    assert fingerprint("use shop") == "use ?"
    assert checksum("select sleep(?) from n") == "AE9D6BB6AF470B997F7D57ACDD8A346E"


def test_pg_logplex_deadlock_report_has_every_process() -> None:
    messages = parse_pg_log(gzip.decompress((DB / "logplex.gz").read_bytes()).decode())
    found = deadlocks(messages)
    check(found, DEADLOCK)
    assert list(found["pid"]) == [4849, 4821, 4796] and list(found["blocked_by"]) == [4821, 4796, 4849]
    assert list(found["victim"]) == [True, False, False] and (found["lock_mode"] == "ShareLock").all()
    assert found["query"].str.startswith("WITH redacted_table").all()
    waits = lock_waits(messages)
    first = waits.iloc[0]
    assert first["pid"] == 4882 and first["holders"] == [4821] and first["queue"] == [4886, 4882]
    assert first["wait_s"] == pytest.approx(1.000119) and first["relation"] == "redacted_table_2"
    slow = durations(messages)
    assert list(slow["duration_s"].round(6)) == [6.679293, 6.537975, 8.544278, 85.756273]
    assert slow["statement"].iloc[3].startswith('UPDATE "checkers"') and "\n" in slow["statement"].iloc[3]


def test_pg_stderr_log_with_tab_continuations() -> None:
    text = ("2026-01-01 10:00:00.123 UTC [77] app@orders ERROR:  deadlock detected\n"
            "2026-01-01 10:00:00.123 UTC [77] app@orders DETAIL:  Process 77 waits for ShareLock on transaction 9; "
            "blocked by process 78.\n\tProcess 78 waits for ShareLock on transaction 8; blocked by process 77.\n"
            "\tProcess 77: UPDATE t SET a = 1 WHERE id = 2\n\tProcess 78: UPDATE t SET a = 1 WHERE id = 1\n"
            "2026-01-01 10:00:00.123 UTC [77] app@orders HINT:  See server log for query details.\n")
    found = deadlocks(parse_pg_log(text))
    assert list(found["pid"]) == [77, 78] and list(found["victim"]) == [True, False]
    assert found["at"].iloc[0] == pd.Timestamp("2026-01-01 10:00:00.123", tz="UTC")
    assert list(found["user"]) == ["app", "app"] and found["query"].iloc[1] == "UPDATE t SET a = 1 WHERE id = 1"


@pytest.mark.parametrize("name,rows,locked", [("pl_recset002.txt", 2, 2), ("pl_recset003.txt", 113, 0),
                                               ("pl_recset005.txt", 1, 0), ("pl_recset009.txt", 2, 0)])
def test_processlist_outputs(name: str, rows: int, locked: int) -> None:
    frame = parse_processlist(_text(name))
    check(frame, SESSIONS)
    assert len(frame) == rows and int((frame["wait_event_type"] == "Lock").sum()) == locked


def test_processlist_fields() -> None:
    frame = parse_processlist(_text("pl_recset002.txt"))
    first = frame.iloc[0]
    assert (first["pid"], first["user"], first["client"], first["state"], first["wait_event"]) == \
        (1, "user1", "1.2.3.4", "active", "Locked")
    assert first["query_age_s"] == 4.0 and first["query"] == "select * from foo1;"
    binlog = parse_processlist(_text("pl_recset009.txt"))
    assert list(binlog["state"]) == ["binlog dump", "active"] and pd.isna(binlog["database"].iloc[0])


@pytest.mark.parametrize("name", ["bug_903443.txt", "fk-error-innodb-status-is001.txt"])
def test_innodb_two_way_deadlock(name: str) -> None:
    frame = parse_innodb_deadlock(_text(name))
    check(frame, DEADLOCK)
    assert list(frame["process"]) == [1, 2] and list(frame["victim"]) == [False, True]
    assert list(frame["blocked_by"]) == [2, 1] and (frame["lock_mode"] == "X").all()
    assert frame["query"].str.startswith("update").all() and frame["holds"].iloc[1].startswith("RECORD LOCKS")


def test_innodb_deadlock_details() -> None:
    frame = parse_innodb_deadlock(_text("bug_903443.txt"))
    assert list(frame["pid"]) == [19, 18] and list(frame["trx_id"]) == ["3405", "3404"]
    assert set(frame["relation"]) == {"test.a"} and set(frame["index_name"]) == {"PRIMARY"}
    assert frame["at"].iloc[0] == pd.Timestamp("2011-12-12 22:52:42", tz="UTC")
    single = parse_innodb_deadlock(_text("bug_1195034.txt"))
    assert len(single) == 1 and single["lock_mode"].iloc[0] == "AUTO-INC" and single["lock_type"].iloc[0] == "TABLE"
    assert len(parse_innodb_deadlock(_text("innodb-status.001.txt"))) == 0


def test_slave_status_with_a_stopped_sql_thread() -> None:
    frame = parse_replica_status(_text("show_slave_status_sql_thread_error_1146.txt"))
    check(frame, REPLICATION)
    row = frame.iloc[0]
    assert (row["role"], row["peer"], bool(row["io_running"]), bool(row["sql_running"])) == \
        ("replica", "192.168.199.101:3306", True, False)
    assert pd.isna(row["lag_s"]) and "test1.stu" in row["last_error"]
    assert row["last_error_at"] == pd.Timestamp("2019-03-06 23:52:14", tz="UTC")
    replica = parse_replica_status("*************************** 1. row ***************************\n"
                                   "Replica_IO_Running: Yes\nReplica_SQL_Running: Yes\nSource_Host: db1\n"
                                   "Source_Port: 3306\nSeconds_Behind_Source: 42\n")
    assert replica["lag_s"].iloc[0] == 42.0 and replica["peer"].iloc[0] == "db1:3306"
