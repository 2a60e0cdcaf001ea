"""``SHOW [FULL] PROCESSLIST`` output (``\\G``, boxed table or tab-separated) as the sessions frame.

Columns are those of :data:`irlib.sources.sql_common.SESSIONS`: ``state`` maps MySQL's ``Command`` onto
PostgreSQL-style states (``Query`` -> ``active``, ``Sleep`` -> ``idle``, others lower-cased), ``wait_event`` holds
MySQL's ``State`` (``Locked``, ``Sending data``, ...), ``query_age_s`` is ``Time`` for running statements.  Pasted
text carries no clock and no transaction data, so the timestamp and transaction columns are null.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from ..sources.sql_common import SESSIONS, frame_of
from .mysqlcli import parse_mysql_output

LOCK_STATES = ("locked", "waiting for table metadata lock", "waiting for table level lock", "table lock",
               "waiting for lock", "lock wait", "system lock")


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def processlist_row(row: dict[str, Any]) -> dict[str, Any]:
    """One processlist mapping (any capitalisation of the column names) as a sessions-frame row."""
    get = {k.lower(): v for k, v in row.items()}
    command = (get.get("command") or "").strip()
    state = "active" if command in ("Query", "Execute") else ("idle" if command == "Sleep" else command.lower())
    mysql_state = (get.get("state") or "").strip() or None
    seconds = _int(get.get("time"))
    host = get.get("host") or None
    return {
        "pid": _int(get.get("id")), "user": get.get("user") or None, "database": get.get("db") or None,
        "client": host.rsplit(":", 1)[0] if host else None, "state": state or None,
        "wait_event_type": "Lock" if mysql_state and mysql_state.lower().startswith(LOCK_STATES) else None,
        "wait_event": mysql_state, "query": get.get("info") or None,
        "query_age_s": float(seconds) if seconds is not None and state == "active" else None, "blocked_by": [],
    }


def parse_processlist(text: str) -> pd.DataFrame:
    """Pasted processlist output as the sessions frame; rows without an ``Id`` are dropped."""
    rows = [processlist_row(r) for r in parse_mysql_output(text)]
    return frame_of([r for r in rows if r["pid"] is not None], SESSIONS)
