"""The SQL source: PostgreSQL and MySQL/MariaDB statistics, read-only, through SQLAlchemy.

Databases are listed in the parameters under ``sources.databases`` (``name``, ``dsn_env``, ``statement_timeout_s``,
``lock_timeout_s``, ``connect_timeout_s``).  The DSN is read from the named environment variable when the first
connection is made; it is never stored, and error messages have it (and its password) scrubbed out.

Safety is enforced by the library, on every session: PostgreSQL ``default_transaction_read_only=on``,
``statement_timeout``, ``lock_timeout``, ``idle_in_transaction_session_timeout`` (set as connection options and
verified); MySQL/MariaDB ``SET SESSION TRANSACTION READ ONLY``, ``max_statement_time``/``max_execution_time``,
``innodb_lock_wait_timeout`` and ``lock_wait_timeout``.  Each database has a pool of one connection (plus one
overflow) and every statement runs in autocommit, so no transaction of ours stays open.  Consistency checks from
the parameters must be a single SELECT; a check that writes is refused (:class:`ReadOnlyViolation`, recorded as
*rejected* with the reason).

Every fetch takes ``database`` (the name in the parameters) first; frames' columns are documented in
:mod:`irlib.sources.sql_common`.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..errors import ParameterError, QueryError, SourceUnavailable
from ..incident import Incident
from . import sql_mysql, sql_postgres
from .base import Fetched, fetcher
from .sql_common import (BLOCKING, CHECK, CONNECTIONS, DB_STATS, DEADLOCK, LONG_RUNNING, REPLICATION, ROW_CAP,
                         SESSIONS, SLOW_LOG, TABLE_HEALTH, TOP_STATEMENTS, Rows, frame_of)
from .sql_guard import ReadOnlyViolation, read_only_statement
from .sql_session import Database, open_database

SOURCE = "sql"


@dataclass(frozen=True)
class DatabaseConfig:
    """One ``sources.databases`` entry (no secret: only the environment variable's name)."""

    name: str
    dsn_env: str
    statement_timeout_s: float = 30.0
    lock_timeout_s: float = 5.0
    connect_timeout_s: float = 10.0


class SqlSource:
    """Read-only database evidence for the databases named in the incident parameters."""

    def __init__(self, incident: Incident) -> None:
        entries = incident.sources.get("databases") or []
        self._configs = {str(e["name"]): _config(e) for e in entries}
        self._checks = {str(c["name"]): dict(c) for c in incident.checks}
        self._open: dict[str, Database] = {}

    # -- plumbing -------------------------------------------------------------------------------------------------
    def _db(self, database: str) -> Database:
        if database not in self._configs:
            known = ", ".join(sorted(self._configs)) or "none"
            raise SourceUnavailable(SOURCE, f"no database named {database!r} in sources.databases (known: {known}); "
                                    "add it with name and dsn_env to the parameters file")
        if database not in self._open:
            cfg = self._configs[database]
            self._open[database] = open_database(cfg.name, os.environ.get(cfg.dsn_env, ""), cfg.dsn_env,
                                                 cfg.statement_timeout_s, cfg.lock_timeout_s, cfg.connect_timeout_s)
        return self._open[database]

    def close(self) -> None:
        """Dispose of every connection pool."""
        for db in self._open.values():
            db.engine.dispose()
        self._open.clear()

    def _dialect(self, database: str) -> tuple[Database, Any]:
        db = self._db(database)
        return db, (sql_postgres if db.dialect == "postgresql" else sql_mysql)

    # -- fetches --------------------------------------------------------------------------------------------------
    @fetcher(SESSIONS)
    def sessions(self, *, database: str) -> Fetched:
        """Client sessions (pg_stat_activity / processlist + InnoDB transactions); columns: see ``SESSIONS``."""
        db, dialect = self._dialect(database)
        return dialect.fetch_sessions(db.run)

    @fetcher(BLOCKING)
    def blocking(self, *, database: str) -> Fetched:
        """The blocking tree, root blockers first; columns: see ``BLOCKING``."""
        db, dialect = self._dialect(database)
        return dialect.fetch_blocking(db.run)

    @fetcher(LONG_RUNNING)
    def long_running(self, *, database: str, min_seconds: float = 30.0) -> Fetched:
        """Sessions running a statement, or holding a transaction, for at least ``min_seconds``, and every
        idle-in-transaction session that old; columns: ``SESSIONS`` plus ``reason``."""
        fetched = self.sessions(database=database)
        return Fetched(long_running_frame(fetched.frame, min_seconds), query=fetched.query,
                       truncated=fetched.truncated, notes=fetched.notes)

    @fetcher(TOP_STATEMENTS)
    def top_statements(self, *, database: str, by: str = "total", limit: int = 20) -> Fetched:
        """Top normalised statements by ``by`` (total, mean, max, calls, rows, temp) from pg_stat_statements /
        performance_schema digests; columns: see ``TOP_STATEMENTS``."""
        if by not in sql_postgres.TOP_SQL:
            raise QueryError(SOURCE, f"top_statements(by={by!r})", f"by must be one of {sorted(sql_postgres.TOP_SQL)}")
        db, dialect = self._dialect(database)
        return dialect.fetch_top_statements(db.run, by, _limit(limit))

    @fetcher(CONNECTIONS)
    def connections(self, *, database: str) -> Fetched:
        """Connections by state/user/application/database against max_connections; see ``CONNECTIONS``."""
        db, dialect = self._dialect(database)
        return dialect.fetch_connections(db.run)

    @fetcher(REPLICATION)
    def replication(self, *, database: str) -> Fetched:
        """Replication state and lag (primary: each replica; standby/replica: this server); see ``REPLICATION``."""
        db, dialect = self._dialect(database)
        return dialect.fetch_replication(db.run)

    @fetcher(DB_STATS)
    def db_stats(self, *, database: str) -> Fetched:
        """Deadlocks, temp files, conflicts, commits/rollbacks, cache hit ratio; see ``DB_STATS``."""
        db, dialect = self._dialect(database)
        return dialect.fetch_db_stats(db.run)

    @fetcher(TABLE_HEALTH)
    def table_health(self, *, database: str, min_rows: int = 10000) -> Fetched:
        """Tables read mostly by full scans (at least ``min_rows`` rows read that way) and unused indexes."""
        db, dialect = self._dialect(database)
        return dialect.fetch_table_health(db.run, int(min_rows))

    @fetcher(SLOW_LOG)
    def slow_log(self, *, database: str, min_seconds: float = 1.0, limit: int = 500,
                 start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> Fetched:
        """Slow statements: MySQL's ``mysql.slow_log`` table between ``start`` and ``end`` (when given), PostgreSQL's
        pg_stat_statements entries with a mean of at least ``min_seconds``; see ``SLOW_LOG``."""
        db, dialect = self._dialect(database)
        if dialect is sql_postgres:
            return sql_postgres.fetch_slow_log(db.run, float(min_seconds), _limit(limit))
        return sql_mysql.fetch_slow_log(db.run, float(min_seconds), _limit(limit), start, end)

    @fetcher(DEADLOCK)
    def innodb_deadlock(self, *, database: str) -> Fetched:
        """The latest deadlock InnoDB detected (SHOW ENGINE INNODB STATUS), one row per transaction."""
        db, dialect = self._dialect(database)
        if dialect is sql_postgres:
            raise SourceUnavailable(SOURCE, "innodb_deadlock is for MySQL/MariaDB; on PostgreSQL read db_stats "
                                    "(deadlocks counter) and the server log (irlib.dbparse.pglog)",
                                    query="SHOW ENGINE INNODB STATUS")
        return sql_mysql.fetch_innodb_deadlock(db.run)

    @fetcher(CHECK)
    def check(self, *, database: str, name: str, sql: str = "", expect: str = "") -> Fetched:
        """Run the data-consistency check ``name`` (its ``sql`` and ``expect`` from the parameters' ``checks:``
        unless given) read-only.  A statement that is not a single SELECT, or that the server refuses as a write,
        raises :class:`ReadOnlyViolation`."""
        spec = self._checks.get(name, {})
        sql, expect = sql or str(spec.get("sql", "")), (expect or str(spec.get("expect") or "empty")).lower()
        if not sql:
            raise QueryError(SOURCE, f"check {name!r}", "no SQL given and no check of that name in the parameters")
        if expect not in ("empty", "zero", "nonempty"):
            raise QueryError(SOURCE, sql, f"expect must be empty, zero or nonempty, got {expect!r}")
        problem = read_only_statement(sql)
        if problem:
            raise ReadOnlyViolation(sql, f"check {name!r} refused: {problem}; checks run read-only")
        result = self._db(database).run(sql, None, cap=ROW_CAP)
        return Fetched(check_frame(name, database, expect, result), query=sql, truncated=result.truncated,
                       notes=[f"check {name!r}: only the first {ROW_CAP} rows were read"] if result.truncated else [])


def _config(entry: Mapping[str, Any]) -> DatabaseConfig:
    def seconds(key: str, default: float) -> float:
        value = float(entry.get(key) or default)
        if value <= 0:
            raise ParameterError(f"must be a positive number of seconds, got {value}", key=f"sources.databases.{key}")
        return value
    return DatabaseConfig(name=str(entry["name"]), dsn_env=str(entry["dsn_env"]),
                          statement_timeout_s=seconds("statement_timeout_s", 30.0),
                          lock_timeout_s=seconds("lock_timeout_s", 5.0),
                          connect_timeout_s=seconds("connect_timeout_s", 10.0))


def _limit(limit: int) -> int:
    if int(limit) < 1:
        raise QueryError(SOURCE, f"limit={limit}", "limit must be at least 1")
    return min(int(limit), ROW_CAP)


def long_running_frame(sessions: pd.DataFrame, min_seconds: float) -> pd.DataFrame:
    """Sessions with a statement or transaction at least ``min_seconds`` old, oldest transaction first, with the
    ``reason`` it is listed (pure)."""
    frame = sessions.copy()
    idle_tx = frame["state"].fillna("").str.startswith("idle in transaction")
    long_tx = frame["xact_age_s"].fillna(-1) >= min_seconds
    long_q = (frame["state"] == "active").fillna(False) & (frame["query_age_s"].fillna(-1) >= min_seconds)
    reason = pd.Series(pd.NA, index=frame.index, dtype="string")
    reason[long_tx] = "long transaction"
    reason[long_q] = "long query"
    reason[idle_tx & long_tx] = "idle in transaction"
    frame["reason"] = reason
    frame = frame[reason.notna()].sort_values("xact_age_s", ascending=False, na_position="last")
    return frame_of(frame.to_dict("records"), LONG_RUNNING)


def check_frame(name: str, database: str, expect: str, result: Rows) -> pd.DataFrame:
    """One row saying whether the check's result meets ``expect`` (pure)."""
    rows = result.rows
    first = next(iter(rows[0].values()), None) if rows else None
    if expect == "empty":
        passed = not rows
    elif expect == "nonempty":
        passed = bool(rows)
    else:
        passed = bool(rows) and first is not None and float(first) == 0.0
    sample = "\n".join(json.dumps(r, default=str, sort_keys=True) for r in rows[:20])
    return frame_of([{"check": name, "database": database, "expect": expect, "passed": passed,
                      "result_rows": len(rows), "value": None if first is None else str(first),
                      "sample": sample}], CHECK)


__all__ = ["SqlSource", "ReadOnlyViolation", "DatabaseConfig", "long_running_frame", "check_frame"]
