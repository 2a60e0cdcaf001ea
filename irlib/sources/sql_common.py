"""What the SQL source's dialect modules share: the frame schemas and the way they run a statement.

The schemas are identical for PostgreSQL and MySQL/MariaDB wherever the concept is shared; a column a dialect has
no value for is null.  Every timestamp is UTC (sessions are opened with the UTC time zone).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from ..frames import UTC_TS, conform

ROW_CAP = 2000

#: ``sessions`` — one row per client session.  ``pid``: backend pid (PG) / connection id (MySQL); ``state``:
#: ``active``, ``idle``, ``idle in transaction``, ... (MySQL commands are mapped onto these); ``wait_event_type`` is
#: ``Lock`` for a session waiting on a lock; ages are seconds at the server's clock; ``blocked_by``: list of the pids
#: (as text) this session waits for.
SESSIONS: dict[str, str] = {
    "pid": "Int64", "user": "string", "database": "string", "application": "string", "client": "string",
    "state": "string", "wait_event_type": "string", "wait_event": "string", "query": "string",
    "query_start": UTC_TS, "xact_start": UTC_TS, "state_change": UTC_TS, "query_age_s": "float64",
    "xact_age_s": "float64", "blocked_by": "object",
}
#: ``long_running`` — the sessions schema plus ``reason``: ``long query``, ``idle in transaction`` or
#: ``long transaction``.
LONG_RUNNING: dict[str, str] = {**SESSIONS, "reason": "string"}
#: ``blocking`` — the blocking tree, roots first: ``blocked_by`` is the parent in the tree (null for a root),
#: ``root_pid`` the root blocker of the branch, ``depth`` 0 for roots; ``waiters`` counts every session below;
#: ``lock_mode``/``lock_type``/``relation`` describe the lock a waiter waits for (for a root: the lock it holds that
#: others wait for); ``wait_s`` is how long the session has waited (null for a root that is not waiting).
BLOCKING: dict[str, str] = {
    "pid": "Int64", "blocked_by": "Int64", "root_pid": "Int64", "depth": "Int64", "waiters": "Int64",
    "lock_mode": "string", "lock_type": "string", "relation": "string", "state": "string", "user": "string",
    "query": "string", "wait_s": "float64", "xact_age_s": "float64",
}
#: ``top_statements`` — normalised statements by cumulative cost.  Times in seconds; ``rows`` returned/affected;
#: ``rows_examined`` (MySQL only); ``temp_blocks`` (PG temp blocks written / MySQL on-disk temp tables).
TOP_STATEMENTS: dict[str, str] = {
    "queryid": "string", "query": "string", "user": "string", "database": "string", "calls": "Int64",
    "total_s": "float64", "mean_s": "float64", "max_s": "float64", "rows": "Int64", "rows_examined": "Int64",
    "temp_blocks": "Int64", "first_seen": UTC_TS, "last_seen": UTC_TS,
}
#: ``connections`` — client connections grouped by state/user/application/database; ``total_connections``,
#: ``max_connections``, ``ratio`` (= total/max) and ``max_used`` (MySQL ``Max_used_connections``) repeat on each row.
CONNECTIONS: dict[str, str] = {
    "state": "string", "user": "string", "application": "string", "database": "string", "connections": "Int64",
    "total_connections": "Int64", "max_connections": "Int64", "ratio": "float64", "max_used": "Int64",
}
#: ``replication`` — one row per replica seen from a primary (``role`` = ``primary``) or one row for this server
#: as a standby/replica (``role`` = ``standby``/``replica``).  ``lag_s`` replay delay in seconds, ``lag_bytes`` WAL /
#: relay distance; ``io_running``/``sql_running`` are MySQL's replica threads (PG standby: receiver streaming).
REPLICATION: dict[str, str] = {
    "role": "string", "peer": "string", "state": "string", "sync_state": "string", "io_running": "boolean",
    "sql_running": "boolean", "lag_s": "float64", "lag_bytes": "Int64", "sent_position": "string",
    "replay_position": "string", "last_error": "string", "last_error_at": UTC_TS,
}
#: ``db_stats`` — cumulative counters since ``stats_reset`` (PG: per database; MySQL: one ``(server)`` row).
DB_STATS: dict[str, str] = {
    "database": "string", "connections": "Int64", "commits": "Int64", "rollbacks": "Int64", "deadlocks": "Int64",
    "conflicts": "Int64", "temp_files": "Int64", "temp_bytes": "Int64", "cache_hit_ratio": "float64",
    "stats_reset": UTC_TS,
}
#: ``table_health`` — ``issue`` is ``heavy_seq_scan`` (a table read mostly by full scans) or ``unused_index``.
TABLE_HEALTH: dict[str, str] = {
    "relation": "string", "issue": "string", "index_name": "string", "seq_scans": "Int64",
    "seq_rows_read": "Int64", "index_scans": "Int64", "live_rows": "Int64", "size_bytes": "Int64",
}
#: ``slow_log`` — MySQL: one row per slow-log entry (``at`` its start, ``calls`` 1); PostgreSQL: one row per
#: ``pg_stat_statements`` entry whose mean time is above the threshold (``at`` null, ``calls`` its count).
SLOW_LOG: dict[str, str] = {
    "at": UTC_TS, "user": "string", "client": "string", "database": "string", "duration_s": "float64",
    "lock_s": "float64", "rows_sent": "Int64", "rows_examined": "Int64", "calls": "Int64", "query": "string",
    "fingerprint": "string",
}
#: ``innodb_deadlock`` (and the PostgreSQL log parser's deadlock reports) — one row per transaction/process in a
#: deadlock.  ``lock_mode``/``lock_type``/``relation`` describe the lock it was waiting for, ``blocked_by`` the
#: process/transaction number holding it when the report names one, ``victim`` the one rolled back.
DEADLOCK: dict[str, str] = {
    "at": UTC_TS, "deadlock": "Int64", "process": "Int64", "pid": "Int64", "trx_id": "string", "user": "string",
    "client": "string", "query": "string", "lock_mode": "string", "lock_type": "string", "relation": "string",
    "index_name": "string", "waiting_for": "string", "holds": "string", "blocked_by": "Int64", "victim": "boolean",
}
#: ``check`` — one row: ``passed`` when the result meets ``expect`` (``empty``: no rows; ``zero``: the first value is
#: 0; ``nonempty``: some rows); ``value`` is the first column of the first row as text; ``sample`` up to 20 rows as
#: JSON lines.
CHECK: dict[str, str] = {
    "check": "string", "database": "string", "expect": "string", "passed": "boolean", "result_rows": "Int64",
    "value": "string", "sample": "string",
}


@dataclass
class Rows:
    """What one statement returned: rows as mappings, and whether the row cap cut it short."""

    sql: str
    rows: list[dict[str, Any]]
    truncated: bool = False
    columns: list[str] = field(default_factory=list)


class Runner(Protocol):
    """Runs one read-only statement with bound parameters on the database's guarded session."""

    def __call__(self, sql: str, params: Mapping[str, Any] | None = None, *, cap: int = ROW_CAP) -> Rows: ...


def frame_of(rows: list[dict[str, Any]], schema: dict[str, str]) -> pd.DataFrame:
    """``rows`` (mappings keyed by column name) as a frame with exactly ``schema`` (timestamps in ns, UTC)."""
    raw = pd.DataFrame.from_records(rows) if rows else None
    if raw is not None:
        for name in [n for n, d in schema.items() if d == UTC_TS and n in raw.columns]:
            if raw[name].isna().all():
                raw[name] = pd.Series(pd.NaT, index=raw.index, dtype=UTC_TS)
    frame = conform(raw, schema)
    for name, dtype in schema.items():
        if dtype == UTC_TS and str(frame[name].dtype) != UTC_TS:
            frame[name] = frame[name].astype(UTC_TS)
    return frame


def cap_note(result: Rows, what: str) -> list[str]:
    """The note a capped result carries."""
    return [f"{what}: only the first {len(result.rows)} rows were read (row cap)"] if result.truncated else []


def joined(*sqls: str) -> str:
    """Several statements of one fetch as one query text for the evidence record."""
    return ";\n".join(s.strip() for s in sqls if s)
