"""MySQL / MariaDB queries of the SQL source, and the pure functions that turn their rows into frames.

Sessions come from ``information_schema.PROCESSLIST`` joined with ``INNODB_TRX``; lock waits from
``information_schema.INNODB_LOCK_WAITS`` (MariaDB, MySQL 5.7) or ``performance_schema.data_lock_waits`` (MySQL 8).
Sessions run with ``time_zone = '+00:00'``, so TIMESTAMP values arrive in UTC (as naive datetimes, made aware here).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd

from ..analysis.db import blocking_tree
from ..dbparse.fingerprint import fingerprint
from ..dbparse.innodb import parse_innodb_deadlock
from ..dbparse.replica import replica_frame
from ..errors import QueryError, SourceUnavailable
from .base import Fetched
from .sql_common import (CONNECTIONS, DB_STATS, ROW_CAP, SESSIONS, SLOW_LOG, TABLE_HEALTH, TOP_STATEMENTS, Runner,
                         cap_note, frame_of, joined)
from .sql_postgres import saturation_notes

VERSION_SQL = "SELECT VERSION() AS version, @@performance_schema AS perf_schema, @@log_output AS log_output"

SESSIONS_SQL = """
SELECT p.ID AS pid, p.USER AS user, p.DB AS db, p.HOST AS host, p.COMMAND AS command, p.STATE AS mstate,
       p.INFO AS query, p.TIME AS time_s, t.trx_id, t.trx_state, t.trx_started,
       TIMESTAMPDIFF(MICROSECOND, t.trx_started, UTC_TIMESTAMP(6)) / 1e6 AS xact_age_s,
       TIMESTAMPDIFF(MICROSECOND, t.trx_wait_started, UTC_TIMESTAMP(6)) / 1e6 AS wait_s,
       UTC_TIMESTAMP(6) AS server_now
FROM information_schema.PROCESSLIST p
LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID
WHERE p.ID <> CONNECTION_ID() AND p.COMMAND <> 'Daemon'
ORDER BY t.trx_started IS NULL, t.trx_started, p.ID
LIMIT :cap"""

WAITS_SQL_MARIADB = """
SELECT r.trx_mysql_thread_id AS pid, b.trx_mysql_thread_id AS blocker, l.lock_mode, l.lock_type,
       l.lock_table AS relation, l.lock_index AS index_name
FROM information_schema.INNODB_LOCK_WAITS w
JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id
JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id
LEFT JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.requested_lock_id"""

WAITS_SQL_MYSQL8 = """
SELECT rt.PROCESSLIST_ID AS pid, bt.PROCESSLIST_ID AS blocker, l.LOCK_MODE AS lock_mode, l.LOCK_TYPE AS lock_type,
       CONCAT(l.OBJECT_SCHEMA, '.', l.OBJECT_NAME) AS relation, l.INDEX_NAME AS index_name
FROM performance_schema.data_lock_waits w
JOIN performance_schema.threads rt ON rt.THREAD_ID = w.REQUESTING_THREAD_ID
JOIN performance_schema.threads bt ON bt.THREAD_ID = w.BLOCKING_THREAD_ID
LEFT JOIN performance_schema.data_locks l ON l.ENGINE_LOCK_ID = w.REQUESTING_ENGINE_LOCK_ID"""

_DIGEST_ORDER = {"total": "SUM_TIMER_WAIT", "mean": "AVG_TIMER_WAIT", "max": "MAX_TIMER_WAIT",
                 "calls": "COUNT_STAR", "rows": "SUM_ROWS_SENT", "temp": "SUM_CREATED_TMP_DISK_TABLES"}
_DIGEST_SQL = """
SELECT DIGEST AS queryid, DIGEST_TEXT AS query, SCHEMA_NAME AS database_name, COUNT_STAR AS calls,
       SUM_TIMER_WAIT / 1e12 AS total_s, AVG_TIMER_WAIT / 1e12 AS mean_s, MAX_TIMER_WAIT / 1e12 AS max_s,
       SUM_ROWS_SENT + SUM_ROWS_AFFECTED AS rows_returned, SUM_ROWS_EXAMINED AS rows_examined,
       SUM_CREATED_TMP_DISK_TABLES AS temp_blocks, FIRST_SEEN AS first_seen, LAST_SEEN AS last_seen
FROM performance_schema.events_statements_summary_by_digest
WHERE DIGEST_TEXT IS NOT NULL
ORDER BY {order} DESC, DIGEST
LIMIT :limit"""
DIGEST_SQL = {by: _DIGEST_SQL.replace("{order}", col) for by, col in _DIGEST_ORDER.items()}

SLOW_SQL = """
SELECT start_time, user_host, db, query_time, lock_time, rows_sent, rows_examined, sql_text
FROM mysql.slow_log
WHERE query_time >= SEC_TO_TIME(:min_s) AND start_time >= :start AND start_time < :end
ORDER BY start_time DESC
LIMIT :limit"""

CONNECTIONS_SQL = """
SELECT p.COMMAND AS command, (t.trx_id IS NOT NULL) AS in_trx, p.USER AS user, p.DB AS db, COUNT(*) AS connections
FROM information_schema.PROCESSLIST p
LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID
WHERE p.COMMAND <> 'Daemon'
GROUP BY p.COMMAND, in_trx, p.USER, p.DB"""
STATUS_SQL = ("SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Max_used_connections', "
              "'Com_commit', 'Com_rollback', 'Innodb_deadlocks', 'Created_tmp_disk_tables', "
              "'Innodb_buffer_pool_read_requests', 'Innodb_buffer_pool_reads', 'Uptime')")
MAX_CONNECTIONS_SQL = "SELECT @@max_connections AS max_connections"

TABLE_HEALTH_SQL = """
SELECT CONCAT(u.OBJECT_SCHEMA, '.', u.OBJECT_NAME) AS relation,
       CASE WHEN u.INDEX_NAME IS NULL THEN 'heavy_seq_scan' ELSE 'unused_index' END AS issue,
       u.INDEX_NAME AS index_name,
       CASE WHEN u.INDEX_NAME IS NULL THEN u.COUNT_READ END AS seq_rows_read,
       CASE WHEN u.INDEX_NAME IS NOT NULL THEN u.COUNT_STAR END AS index_scans
FROM performance_schema.table_io_waits_summary_by_index_usage u
WHERE u.OBJECT_SCHEMA NOT IN ('mysql', 'performance_schema', 'information_schema', 'sys')
  AND ((u.INDEX_NAME IS NULL AND u.COUNT_READ >= :min_rows)
       OR (u.INDEX_NAME IS NOT NULL AND u.INDEX_NAME <> 'PRIMARY' AND u.COUNT_STAR = 0))
ORDER BY issue, seq_rows_read DESC, relation
LIMIT :cap"""

_EPOCH_START = "1970-01-01 00:00:00"
_FAR_END = "2100-01-01 00:00:00"


def server_info(run: Runner) -> dict[str, Any]:
    """Version, whether it is MariaDB, and whether performance_schema and the slow-log table are on."""
    row = run(VERSION_SQL, {}, cap=1).rows[0]
    version = str(row["version"])
    return {"version": version, "mariadb": "mariadb" in version.lower(), "perf_schema": bool(int(row["perf_schema"])),
            "log_table": "TABLE" in str(row["log_output"]).upper(), "major": int(version.split(".")[0])}


def fetch_sessions(run: Runner) -> Fetched:
    info = server_info(run)
    procs = run(SESSIONS_SQL, {"cap": ROW_CAP + 1})
    waits_sql = _waits_sql(info)
    waits = run(waits_sql, {})
    frame = sessions_frame(procs.rows, waits.rows)
    return Fetched(frame, query=joined(VERSION_SQL, SESSIONS_SQL, waits_sql), truncated=procs.truncated,
                   notes=cap_note(procs, "processlist"))


def _waits_sql(info: dict[str, Any]) -> str:
    return WAITS_SQL_MYSQL8 if not info["mariadb"] and info["major"] >= 8 else WAITS_SQL_MARIADB


def utc(value: Any) -> pd.Timestamp | None:
    """A naive UTC datetime from the session (time_zone +00:00) as an aware timestamp."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def session_state(command: str | None, in_trx: bool) -> str:
    """MySQL's COMMAND mapped onto PostgreSQL-style states."""
    command = command or ""
    if command == "Sleep":
        return "idle in transaction" if in_trx else "idle"
    if command in ("Query", "Execute"):
        return "active"
    return command.lower()


def sessions_frame(procs: list[dict[str, Any]], waits: list[dict[str, Any]]) -> pd.DataFrame:
    """Processlist rows (+ InnoDB transactions) and lock-wait rows as the sessions frame (pure)."""
    blockers: dict[int, list[str]] = {}
    for wait in waits:
        blockers.setdefault(int(wait["pid"]), []).append(str(wait["blocker"]))
    rows = []
    for p in procs:
        now = utc(p["server_now"])
        in_trx = p.get("trx_id") is not None
        since = now - timedelta(seconds=float(p["time_s"] or 0)) if now is not None else None
        state = session_state(p["command"], in_trx)
        rows.append({
            "pid": p["pid"], "user": p["user"], "database": p["db"], "application": None,
            "client": str(p["host"]).rsplit(":", 1)[0] if p["host"] else None, "state": state,
            "wait_event_type": "Lock" if p.get("trx_state") == "LOCK WAIT" else None,
            "wait_event": p["mstate"] or None, "query": p["query"],
            "query_start": since if state == "active" else None, "xact_start": utc(p.get("trx_started")),
            "state_change": since, "query_age_s": float(p["time_s"] or 0) if state == "active" else None,
            "xact_age_s": p.get("xact_age_s"), "blocked_by": sorted(set(blockers.get(int(p["pid"]), [])), key=int),
        })
    return frame_of(rows, SESSIONS)


def fetch_blocking(run: Runner) -> Fetched:
    info = server_info(run)
    procs = run(SESSIONS_SQL, {"cap": ROW_CAP + 1})
    waits_sql = _waits_sql(info)
    waits = run(waits_sql, {})
    frame = blocking_tree(blocking_input(procs.rows, waits.rows))
    return Fetched(frame, query=joined(VERSION_SQL, SESSIONS_SQL, waits_sql), truncated=procs.truncated,
                   notes=cap_note(procs, "processlist"))


def blocking_input(procs: list[dict[str, Any]], waits: list[dict[str, Any]]) -> pd.DataFrame:
    """Sessions with blockers and the lock each waiter waits for (pure)."""
    sessions = sessions_frame(procs, waits)
    lock = {int(w["pid"]): w for w in waits}
    wait_s = {int(p["pid"]): p.get("wait_s") for p in procs}
    rows = []
    for s in sessions.to_dict("records"):
        w = lock.get(int(s["pid"]), {})
        rows.append({**s, "lock_mode": w.get("lock_mode"), "lock_type": w.get("lock_type"),
                     "relation": (w.get("relation") or "").replace("`", "") or None,
                     "wait_s": wait_s.get(int(s["pid"])) if w else None})
    return pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=["pid", "blocked_by"])


def fetch_top_statements(run: Runner, by: str, limit: int) -> Fetched:
    info = server_info(run)
    if not info["perf_schema"]:
        raise SourceUnavailable("sql", "performance_schema is off, so there are no statement digests: start the "
                                "server with performance_schema=ON, or read slow_log", query=VERSION_SQL)
    sql = DIGEST_SQL[by]
    result = run(sql, {"limit": limit + 1}, cap=limit + 1)
    rows, more = result.rows[:limit], len(result.rows) > limit
    notes = [f"more than {limit} statements; only the top {limit} by {by} are shown"] if more else []
    return Fetched(digest_frame(rows), query=joined(VERSION_SQL, sql), truncated=more, notes=notes)


def digest_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """performance_schema digest rows as the top-statements frame (pure)."""
    out = [{**r, "database": r["database_name"], "rows": r["rows_returned"], "first_seen": utc(r["first_seen"]),
            "last_seen": utc(r["last_seen"])} for r in rows]
    return frame_of(out, TOP_STATEMENTS)


def fetch_slow_log(run: Runner, min_seconds: float, limit: int, start: pd.Timestamp | None,
                   end: pd.Timestamp | None) -> Fetched:
    info = server_info(run)
    if not info["log_table"]:
        raise SourceUnavailable("sql", "the slow log is not written to a table (log_output does not include TABLE): "
                                "read the slow-log file with irlib.dbparse.mysql_slowlog.parse_slow_log instead",
                                query=VERSION_SQL)
    params = {"min_s": min_seconds, "limit": limit + 1, "start": _naive(start, _EPOCH_START),
              "end": _naive(end, _FAR_END)}
    result = run(SLOW_SQL, params, cap=limit + 1)
    rows, more = result.rows[:limit], len(result.rows) > limit
    notes = [f"more than {limit} slow-log entries; only the {limit} latest are shown"] if more else []
    return Fetched(slow_table_frame(rows), query=joined(VERSION_SQL, SLOW_SQL), truncated=more, notes=notes)


def _naive(ts: pd.Timestamp | None, default: str) -> str:
    if ts is None:
        return default
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S.%f")


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def slow_table_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """``mysql.slow_log`` rows as the slow-log frame (pure); ``user_host`` is ``user[user] @ host [ip]``."""
    from ..dbparse.mysql_slowlog import split_user_host
    out = []
    for r in rows:
        text = r["sql_text"].decode("utf-8", "replace") if isinstance(r["sql_text"], bytes) else r["sql_text"]
        user, client = split_user_host(r["user_host"] or "")
        out.append({"at": utc(r["start_time"]), "user": user, "client": client, "database": r["db"] or None,
                    "duration_s": _seconds(r["query_time"]), "lock_s": _seconds(r["lock_time"]),
                    "rows_sent": r["rows_sent"], "rows_examined": r["rows_examined"], "calls": 1, "query": text,
                    "fingerprint": fingerprint(text or "")})
    return frame_of(out, SLOW_LOG)


def fetch_connections(run: Runner) -> Fetched:
    groups = run(CONNECTIONS_SQL, {})
    status = _status(run)
    limit = int(run(MAX_CONNECTIONS_SQL, {}, cap=1).rows[0]["max_connections"])
    frame = connections_frame(groups.rows, status, limit)
    return Fetched(frame, query=joined(CONNECTIONS_SQL, STATUS_SQL, MAX_CONNECTIONS_SQL),
                   truncated=groups.truncated, notes=cap_note(groups, "connection groups") + saturation_notes(frame))


def _status(run: Runner) -> dict[str, int]:
    rows = run(STATUS_SQL, {}).rows
    return {str(r.get("Variable_name") or r.get("VARIABLE_NAME")): int(r.get("Value") or r.get("VALUE") or 0)
            for r in rows}


def connections_frame(groups: list[dict[str, Any]], status: dict[str, int], max_connections: int) -> pd.DataFrame:
    """Processlist groups plus global status as the connections frame (pure)."""
    total = status.get("Threads_connected", sum(int(g["connections"]) for g in groups))
    merged: dict[tuple[str, str, str], int] = {}
    for g in groups:
        key = (session_state(g["command"], bool(g["in_trx"])), g["user"] or "", g["db"] or "")
        merged[key] = merged.get(key, 0) + int(g["connections"])
    rows = [{"state": k[0], "user": k[1] or None, "application": None, "database": k[2] or None, "connections": n,
             "total_connections": total, "max_connections": max_connections,
             "ratio": total / max_connections if max_connections else None,
             "max_used": status.get("Max_used_connections")}
            for k, n in sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))]
    return frame_of(rows, CONNECTIONS)


def fetch_replication(run: Runner) -> Fetched:
    for sql in ("SHOW REPLICA STATUS", "SHOW SLAVE STATUS"):
        try:
            result = run(sql, {})
        except QueryError:
            continue
        notes = [] if result.rows else ["this server is not a replica (replica status is empty)"]
        return Fetched(replica_frame(result.rows), query=sql, truncated=result.truncated, notes=notes)
    raise SourceUnavailable("sql", "neither SHOW REPLICA STATUS nor SHOW SLAVE STATUS is accepted: the account "
                            "needs REPLICATION CLIENT (or SLAVE MONITOR on MariaDB)", query="SHOW SLAVE STATUS")


def fetch_db_stats(run: Runner) -> Fetched:
    status = _status(run)
    return Fetched(db_stats_frame(status), query=STATUS_SQL)


def db_stats_frame(status: dict[str, int]) -> pd.DataFrame:
    """Global status counters as the one ``(server)`` row of the db-stats frame (pure)."""
    requests = status.get("Innodb_buffer_pool_read_requests", 0)
    reads = status.get("Innodb_buffer_pool_reads", 0)
    row = {"database": "(server)", "connections": status.get("Threads_connected"),
           "commits": status.get("Com_commit"), "rollbacks": status.get("Com_rollback"),
           "deadlocks": status.get("Innodb_deadlocks"), "temp_files": status.get("Created_tmp_disk_tables"),
           "cache_hit_ratio": (requests - reads) / requests if requests else None}
    return frame_of([row], DB_STATS)


def fetch_table_health(run: Runner, min_rows: int) -> Fetched:
    info = server_info(run)
    if not info["perf_schema"]:
        raise SourceUnavailable("sql", "performance_schema is off, so index usage is unknown: start the server with "
                                "performance_schema=ON", query=VERSION_SQL)
    result = run(TABLE_HEALTH_SQL, {"min_rows": min_rows, "cap": 501}, cap=500)
    return Fetched(frame_of(result.rows, TABLE_HEALTH), query=joined(VERSION_SQL, TABLE_HEALTH_SQL),
                   truncated=result.truncated, notes=cap_note(result, "table health"))


def fetch_innodb_deadlock(run: Runner) -> Fetched:
    sql = "SHOW ENGINE INNODB STATUS"
    rows = run(sql, {}).rows
    text = str(rows[0].get("Status") or "") if rows else ""
    frame = parse_innodb_deadlock(text)
    notes = [] if len(frame) else ["InnoDB has detected no deadlock since the server started"]
    notes.append("the deadlock time is the server's local time, read as UTC")
    return Fetched(frame, query=sql, notes=notes)

