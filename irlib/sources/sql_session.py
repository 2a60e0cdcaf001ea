"""Guarded database sessions for the SQL source: engine per database, read-only and time-limited on every session.

The DSN is only held by the SQLAlchemy engine; everything that leaves this module (errors, notes) has the DSN, its
password and its user-info scrubbed out.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc as sa_exc
from sqlalchemy.engine import URL, Engine, make_url

from ..errors import SourceUnavailable
from .sql_common import ROW_CAP, Rows
from .sql_guard import ReadOnlyViolation

SOURCE = "sql"
PG_UNAVAILABLE = {"57014": "the statement was cancelled (statement timeout {stmt:g} s)",
                  "55P03": "a lock was not granted within the lock timeout ({lock:g} s)",
                  "42501": "permission denied: grant the investigation role pg_read_all_stats / pg_monitor",
                  "57P01": "the server is shutting down", "53300": "too many connections (the server is full)"}
MY_UNAVAILABLE = {1969: "the statement was cancelled (max_statement_time {stmt:g} s)",
                  3024: "the statement was cancelled (max_execution_time {stmt:g} s)",
                  1205: "a lock was not granted within innodb_lock_wait_timeout ({lock:g} s)",
                  1040: "too many connections (the server is full)",
                  1045: "access denied: check the user and password in the DSN's environment variable",
                  1142: "permission denied for this statement", 1227: "permission denied: the account needs PROCESS",
                  1044: "access denied to the database"}
READ_ONLY_CODES = {"25006", 1792}


@dataclass
class Database:
    """An open database: its engine (pool of 1+1), dialect (``postgresql``/``mysql``), flavor (``postgresql``,
    ``mariadb``, ``mysql``; known after the first connection) and the secrets to scrub from messages."""

    name: str
    engine: Engine
    dialect: str
    stmt_s: float
    lock_s: float
    secrets: list[str] = field(default_factory=list, repr=False)
    flavor: dict[str, str] = field(default_factory=dict)

    def scrub(self, text: str) -> str:
        """``text`` without the DSN, its password or its user:password part."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "[dsn]" if "://" in secret else "***")
        return text

    def run(self, sql: str, params: Mapping[str, Any] | None = None, *, cap: int = ROW_CAP) -> Rows:
        """Run one statement; at most ``cap`` rows are kept (``truncated`` when there were more)."""
        try:
            with self.engine.connect() as conn:
                result = conn.execute(sa.text(sql), dict(params or {}))
                if not result.returns_rows:
                    return Rows(sql=sql, rows=[])
                keys = list(result.keys())
                batch = result.fetchmany(cap + 1)
                rows = [dict(zip(keys, row)) for row in batch[:cap]]
                return Rows(sql=sql, rows=rows, truncated=len(batch) > cap, columns=keys)
        except sa_exc.DBAPIError as exc:
            raise self._classify(exc, sql) from None
        except sa_exc.SQLAlchemyError as exc:
            raise SourceUnavailable(SOURCE, f"database {self.name!r}: {self.scrub(str(exc))}", query=sql) from None

    def _classify(self, exc: sa_exc.DBAPIError, sql: str) -> Exception:
        orig = exc.orig
        code: Any = getattr(orig, "pgcode", None) or (orig.args[0] if getattr(orig, "args", None) else None)
        message = self.scrub(_first_lines(str(orig)))
        if code in READ_ONLY_CODES:
            return ReadOnlyViolation(sql, f"refused by the server, the session is read-only: {message}")
        known = PG_UNAVAILABLE.get(str(code)) if self.dialect == "postgresql" else MY_UNAVAILABLE.get(code)
        if known:
            return SourceUnavailable(SOURCE, f"database {self.name!r}: {known.format(stmt=self.stmt_s, lock=self.lock_s)}"
                                     f" ({message})", query=sql)
        if exc.connection_invalidated or isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)) and \
                not _is_statement_error(code):
            return SourceUnavailable(SOURCE, f"database {self.name!r} cannot be reached: {message}", query=sql)
        from ..errors import QueryError
        return QueryError(SOURCE, sql, message)


def _is_statement_error(code: Any) -> bool:
    """MySQL reports some statement errors as OperationalError; codes 1000-1999 (server) other than the
    connection ones are the statement's fault."""
    return isinstance(code, int) and 1000 <= code < 2000 and code not in (1040, 1045, 1129, 1130, 1152, 1153)


def _first_lines(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines[:3])[:500]


def open_database(name: str, dsn: str, dsn_env: str, stmt_s: float, lock_s: float, connect_s: float) -> Database:
    """An engine for the DSN with the read-only session guard installed; nothing is connected yet."""
    if not dsn:
        raise SourceUnavailable(SOURCE, f"database {name!r}: environment variable {dsn_env} is not set; export it "
                                "with the DSN (e.g. postgresql://user:password@host:5432/db)")
    try:
        url = make_url(dsn)
    except (sa_exc.ArgumentError, ValueError):
        raise SourceUnavailable(SOURCE, f"database {name!r}: the value of {dsn_env} is not a database URL "
                                "(expected postgresql://... or mysql://...)") from None
    secrets = [dsn, str(url.password or ""), url.render_as_string(hide_password=False)]
    backend = url.get_backend_name()
    if backend == "postgresql":
        engine = _postgres_engine(url, stmt_s, lock_s, connect_s)
        dialect = "postgresql"
    elif backend in ("mysql", "mariadb"):
        engine = _mysql_engine(url, stmt_s, lock_s, connect_s)
        dialect = "mysql"
    else:
        raise SourceUnavailable(SOURCE, f"database {name!r}: {backend!r} databases are not supported "
                                "(PostgreSQL, MySQL and MariaDB are)")
    db = Database(name=name, engine=engine, dialect=dialect, stmt_s=stmt_s, lock_s=lock_s, secrets=secrets)
    event.listen(engine, "connect", _pg_guard(db) if dialect == "postgresql" else _mysql_guard(db))
    return db


def _engine(url: URL, connect_args: dict[str, Any], connect_s: float) -> Engine:
    return sa.create_engine(url, connect_args=connect_args, pool_size=1, max_overflow=1, pool_timeout=connect_s,
                            pool_pre_ping=True, pool_recycle=600, isolation_level="AUTOCOMMIT", hide_parameters=True)


def _postgres_engine(url: URL, stmt_s: float, lock_s: float, connect_s: float) -> Engine:
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg2")
    options = (f"-c default_transaction_read_only=on -c statement_timeout={int(stmt_s * 1000)} "
               f"-c lock_timeout={int(lock_s * 1000)} -c idle_in_transaction_session_timeout={int(stmt_s * 2000)} "
               "-c TimeZone=UTC")
    args = {"connect_timeout": max(1, math.ceil(connect_s)), "application_name": "irlib-investigation",
            "options": options}
    return _engine(url, args, connect_s)


def _mysql_engine(url: URL, stmt_s: float, lock_s: float, connect_s: float) -> Engine:
    url = url.set(drivername=f"{url.get_backend_name()}+pymysql")
    args = {"connect_timeout": max(1, math.ceil(connect_s)), "read_timeout": math.ceil(stmt_s) + 10,
            "write_timeout": math.ceil(stmt_s) + 10, "program_name": "irlib-investigation"}
    return _engine(url, args, connect_s)


def _pg_guard(db: Database) -> Any:
    def guard(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("SHOW default_transaction_read_only")
        read_only = cur.fetchone()[0]
        cur.execute("SHOW statement_timeout")
        timeout = cur.fetchone()[0]
        cur.close()
        dbapi_conn.rollback()
        if read_only != "on" or timeout in ("0", "0ms"):
            dbapi_conn.close()
            raise SourceUnavailable(SOURCE, f"database {db.name!r}: the session could not be made read-only with a "
                                    "statement timeout (a pooler dropping startup options?); refusing to query")
        db.flavor.setdefault("flavor", "postgresql")
    return guard


def _mysql_guard(db: Database) -> Any:
    def guard(dbapi_conn: Any, _record: Any) -> None:
        mariadb = "mariadb" in str(dbapi_conn.get_server_info()).lower()
        lock = max(1, math.ceil(db.lock_s))
        cur = dbapi_conn.cursor()
        cur.execute("SET SESSION TRANSACTION READ ONLY")
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute("SET SESSION innodb_lock_wait_timeout = %s", (lock,))
        cur.execute("SET SESSION lock_wait_timeout = %s", (lock,))
        if mariadb:
            cur.execute("SET SESSION max_statement_time = %s", (float(db.stmt_s),))
            cur.execute("SELECT @@session.tx_read_only")
        else:
            cur.execute("SET SESSION max_execution_time = %s", (int(db.stmt_s * 1000),))
            cur.execute("SELECT @@session.transaction_read_only")
        read_only = int(cur.fetchone()[0])
        cur.close()
        if read_only != 1:
            dbapi_conn.close()
            raise SourceUnavailable(SOURCE, f"database {db.name!r}: the session could not be made read-only")
        db.flavor.setdefault("flavor", "mariadb" if mariadb else "mysql")
    return guard
