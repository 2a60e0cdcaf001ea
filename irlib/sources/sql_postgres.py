"""PostgreSQL queries of the SQL source, and the pure functions that turn their rows into frames.

Every ``fetch_*`` function takes a :class:`~irlib.sources.sql_common.Runner` (the guarded read-only session) and
returns :class:`~irlib.sources.base.Fetched`; the frames' columns are documented in :mod:`irlib.sources.sql_common`.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from ..analysis.db import blocking_tree
from ..errors import SourceUnavailable
from .base import Fetched
from .sql_common import (ROW_CAP, CONNECTIONS, DB_STATS, REPLICATION, SESSIONS, SLOW_LOG, TABLE_HEALTH,
                         TOP_STATEMENTS, Runner, cap_note, frame_of, joined)

SESSIONS_SQL = """
SELECT a.pid, a.usename AS "user", a.datname AS database, a.application_name AS application,
       COALESCE(host(a.client_addr), CASE WHEN a.client_port = -1 THEN 'local' END) AS client,
       a.state, a.wait_event_type, a.wait_event, a.query, a.query_start, a.xact_start, a.state_change,
       EXTRACT(EPOCH FROM (now() - a.query_start))::float8 AS query_age_s,
       EXTRACT(EPOCH FROM (now() - a.xact_start))::float8 AS xact_age_s,
       pg_blocking_pids(a.pid)::text[] AS blocked_by
FROM pg_stat_activity a
WHERE a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
ORDER BY a.xact_start NULLS LAST, a.pid
LIMIT :cap"""

BLOCKING_SQL = """
SELECT a.pid, pg_blocking_pids(a.pid)::text[] AS blocked_by, a.state, a.usename AS "user", a.query,
       EXTRACT(EPOCH FROM (now() - a.xact_start))::float8 AS xact_age_s,
       EXTRACT(EPOCH FROM (now() - w.waitstart))::float8 AS wait_s,
       w.mode AS lock_mode, w.locktype AS lock_type, w.relation::regclass::text AS relation
FROM pg_stat_activity a
LEFT JOIN LATERAL (SELECT l.mode, l.locktype, l.relation, l.waitstart FROM pg_locks l
                   WHERE l.pid = a.pid AND NOT l.granted ORDER BY l.waitstart NULLS LAST LIMIT 1) w ON true
WHERE a.pid <> pg_backend_pid()
  AND (cardinality(pg_blocking_pids(a.pid)) > 0
       OR a.pid IN (SELECT unnest(pg_blocking_pids(x.pid)) FROM pg_stat_activity x))
LIMIT :cap"""

HELD_LOCKS_SQL = """
SELECT DISTINCT ON (h.pid) h.pid, h.mode AS lock_mode, h.locktype AS lock_type,
       h.relation::regclass::text AS relation
FROM pg_locks w
JOIN pg_locks h ON h.granted AND h.pid <> w.pid AND h.locktype = w.locktype
 AND h.database IS NOT DISTINCT FROM w.database AND h.relation IS NOT DISTINCT FROM w.relation
 AND h.page IS NOT DISTINCT FROM w.page AND h.tuple IS NOT DISTINCT FROM w.tuple
 AND h.transactionid IS NOT DISTINCT FROM w.transactionid AND h.virtualxid IS NOT DISTINCT FROM w.virtualxid
 AND h.classid IS NOT DISTINCT FROM w.classid AND h.objid IS NOT DISTINCT FROM w.objid
WHERE NOT w.granted
ORDER BY h.pid, h.mode DESC"""

EXTENSION_SQL = "SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'"
_ORDER = {"total": "s.total_exec_time", "mean": "s.mean_exec_time", "max": "s.max_exec_time",
          "calls": "s.calls", "rows": "s.rows", "temp": "s.temp_blks_written"}
_TOP_SQL = """
SELECT s.queryid::text AS queryid, s.query, r.rolname AS "user", d.datname AS database, s.calls,
       s.total_exec_time / 1000.0 AS total_s, s.mean_exec_time / 1000.0 AS mean_s,
       s.max_exec_time / 1000.0 AS max_s, s.rows, s.temp_blks_written AS temp_blocks
FROM pg_stat_statements s
LEFT JOIN pg_roles r ON r.oid = s.userid LEFT JOIN pg_database d ON d.oid = s.dbid
{where}ORDER BY {order} DESC, s.queryid
LIMIT :limit"""
TOP_SQL = {by: _TOP_SQL.replace("{where}", "").replace("{order}", col) for by, col in _ORDER.items()}
SLOW_SQL = (_TOP_SQL.replace("{where}", "WHERE s.mean_exec_time >= :min_ms\n")
            .replace("{order}", "s.mean_exec_time"))

CONNECTIONS_SQL = """
SELECT COALESCE(a.state, '(unknown)') AS state, a.usename AS "user", a.application_name AS application,
       a.datname AS database, count(*) AS connections,
       sum(count(*)) OVER () AS total_connections,
       current_setting('max_connections')::int AS max_connections
FROM pg_stat_activity a
WHERE a.backend_type = 'client backend'
GROUP BY 1, 2, 3, 4
ORDER BY connections DESC, 1, 2, 3, 4"""

RECOVERY_SQL = "SELECT pg_is_in_recovery() AS standby"
PRIMARY_SQL = """
SELECT 'primary' AS role, COALESCE(r.application_name || '@', '') || COALESCE(host(r.client_addr), 'local') AS peer,
       r.state, r.sync_state, EXTRACT(EPOCH FROM r.replay_lag)::float8 AS lag_s,
       pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint AS lag_bytes,
       r.sent_lsn::text AS sent_position, r.replay_lsn::text AS replay_position
FROM pg_stat_replication r
ORDER BY peer"""
STANDBY_SQL = """
SELECT 'standby' AS role, w.sender_host || ':' || w.sender_port AS peer, w.status AS state,
       w.status = 'streaming' AS io_running, NOT pg_is_wal_replay_paused() AS sql_running,
       EXTRACT(EPOCH FROM (now() - pg_last_xact_replay_timestamp()))::float8 AS lag_s,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint AS lag_bytes,
       pg_last_wal_receive_lsn()::text AS sent_position, pg_last_wal_replay_lsn()::text AS replay_position
FROM (SELECT 1) one LEFT JOIN pg_stat_wal_receiver w ON true"""

DB_STATS_SQL = """
SELECT d.datname AS database, d.numbackends AS connections, d.xact_commit AS commits,
       d.xact_rollback AS rollbacks, d.deadlocks, d.conflicts, d.temp_files, d.temp_bytes,
       d.blks_hit::float8 / NULLIF(d.blks_hit + d.blks_read, 0) AS cache_hit_ratio, d.stats_reset
FROM pg_stat_database d
WHERE d.datname IS NOT NULL
ORDER BY d.datname = current_database() DESC, d.datname"""

TABLE_HEALTH_SQL = """
SELECT * FROM (
  SELECT t.schemaname || '.' || t.relname AS relation, 'heavy_seq_scan' AS issue, NULL::text AS index_name,
         t.seq_scan AS seq_scans, t.seq_tup_read AS seq_rows_read, t.idx_scan AS index_scans,
         t.n_live_tup AS live_rows, pg_total_relation_size(t.relid) AS size_bytes
  FROM pg_stat_user_tables t
  WHERE t.seq_tup_read >= :min_rows AND t.seq_scan > COALESCE(t.idx_scan, 0)
  UNION ALL
  SELECT i.schemaname || '.' || i.relname, 'unused_index', i.indexrelname, NULL, NULL, i.idx_scan,
         NULL, pg_relation_size(i.indexrelid)
  FROM pg_stat_user_indexes i JOIN pg_index x ON x.indexrelid = i.indexrelid
  WHERE i.idx_scan = 0 AND NOT x.indisunique AND NOT x.indisprimary
) h
ORDER BY issue, COALESCE(seq_rows_read, size_bytes) DESC, relation
LIMIT :cap"""


def fetch_sessions(run: Runner) -> Fetched:
    result = run(SESSIONS_SQL, {"cap": ROW_CAP + 1})
    return Fetched(frame_of(result.rows, SESSIONS), query=SESSIONS_SQL.strip(), truncated=result.truncated,
                   notes=cap_note(result, "pg_stat_activity"))


def fetch_blocking(run: Runner) -> Fetched:
    waits = run(BLOCKING_SQL, {"cap": ROW_CAP + 1})
    held = run(HELD_LOCKS_SQL, {})
    frame = blocking_tree(blocking_input(waits.rows, held.rows))
    return Fetched(frame, query=joined(BLOCKING_SQL, HELD_LOCKS_SQL), truncated=waits.truncated or held.truncated,
                   notes=cap_note(waits, "blocked sessions") + cap_note(held, "held locks"))


def blocking_input(waits: list[dict[str, Any]], held: list[dict[str, Any]]) -> pd.DataFrame:
    """Sessions with their blockers; a root blocker (waiting for nothing) gets the lock it holds that others
    wait for."""
    holds = {int(h["pid"]): h for h in held}
    rows = []
    for row in waits:
        row = dict(row)
        if row.get("lock_mode") is None and int(row["pid"]) in holds:
            for key in ("lock_mode", "lock_type", "relation"):
                row[key] = holds[int(row["pid"])][key]
        rows.append(row)
    return pd.DataFrame.from_records(rows, columns=["pid", "blocked_by", "state", "user", "query", "xact_age_s",
                                                    "wait_s", "lock_mode", "lock_type", "relation"])


def require_pg_stat_statements(run: Runner) -> None:
    """SourceUnavailable with the fix when the extension is not installed in this database."""
    if not run(EXTENSION_SQL, {}, cap=1).rows:
        raise SourceUnavailable("sql", "pg_stat_statements extension not installed: CREATE EXTENSION "
                                "pg_stat_statements; in this database (and add pg_stat_statements to "
                                "shared_preload_libraries)", query=EXTENSION_SQL)


def fetch_top_statements(run: Runner, by: str, limit: int) -> Fetched:
    require_pg_stat_statements(run)
    sql = TOP_SQL[by]
    result = run(sql, {"limit": limit + 1}, cap=limit + 1)
    rows, more = result.rows[:limit], len(result.rows) > limit
    notes = [f"more than {limit} statements; only the top {limit} by {by} are shown"] if more else []
    return Fetched(frame_of(rows, TOP_STATEMENTS), query=sql.strip(), truncated=more, notes=notes)


def fetch_slow_log(run: Runner, min_seconds: float, limit: int) -> Fetched:
    require_pg_stat_statements(run)
    result = run(SLOW_SQL, {"min_ms": min_seconds * 1000.0, "limit": limit + 1}, cap=limit + 1)
    rows, more = result.rows[:limit], len(result.rows) > limit
    notes = ["PostgreSQL keeps no slow-log table: these are pg_stat_statements entries whose mean time is at least "
             f"{min_seconds:g} s (the server log has each slow execution; parse it with irlib.dbparse.pglog)"]
    if more:
        notes.append(f"more than {limit} slow statements; only the {limit} slowest are shown")
    return Fetched(slow_frame(rows), query=SLOW_SQL.strip(), truncated=more, notes=notes)


def slow_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """pg_stat_statements rows as the slow-log frame (``duration_s`` is the mean time)."""
    from ..dbparse.fingerprint import fingerprint
    out = [{"user": r["user"], "database": r["database"], "duration_s": r["mean_s"], "rows_sent": r["rows"],
            "calls": r["calls"], "query": r["query"], "fingerprint": fingerprint(r["query"] or "")} for r in rows]
    return frame_of(out, SLOW_LOG)


def fetch_connections(run: Runner) -> Fetched:
    result = run(CONNECTIONS_SQL, {})
    frame = connections_frame(result.rows)
    return Fetched(frame, query=CONNECTIONS_SQL.strip(), truncated=result.truncated,
                   notes=cap_note(result, "connection groups") + saturation_notes(frame))


def connections_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = frame_of(rows, CONNECTIONS)
    frame["ratio"] = (frame["total_connections"] / frame["max_connections"]).astype("float64")
    return frame


def saturation_notes(frame: pd.DataFrame) -> list[str]:
    """A note when connections use 80 % or more of max_connections."""
    if len(frame) and float(frame["ratio"].iloc[0]) >= 0.8:
        return [f"connections at {float(frame['ratio'].iloc[0]):.0%} of max_connections "
                f"({int(frame['total_connections'].iloc[0])}/{int(frame['max_connections'].iloc[0])})"]
    return []


def fetch_replication(run: Runner) -> Fetched:
    standby = bool(run(RECOVERY_SQL, {}, cap=1).rows[0]["standby"])
    sql = STANDBY_SQL if standby else PRIMARY_SQL
    result = run(sql, {}, cap=500)
    notes = cap_note(result, "replicas")
    if not standby and not result.rows:
        notes.append("this server is a primary with no replica connected (pg_stat_replication is empty)")
    return Fetched(frame_of(result.rows, REPLICATION), query=joined(RECOVERY_SQL, sql), truncated=result.truncated,
                   notes=notes)


def fetch_db_stats(run: Runner) -> Fetched:
    result = run(DB_STATS_SQL, {}, cap=1000)
    return Fetched(frame_of(result.rows, DB_STATS), query=DB_STATS_SQL.strip(), truncated=result.truncated,
                   notes=cap_note(result, "databases"))


def fetch_table_health(run: Runner, min_rows: int) -> Fetched:
    result = run(TABLE_HEALTH_SQL, {"min_rows": min_rows, "cap": 501}, cap=500)
    return Fetched(frame_of(result.rows, TABLE_HEALTH), query=TABLE_HEALTH_SQL.strip(), truncated=result.truncated,
                   notes=cap_note(result, "table health"))
