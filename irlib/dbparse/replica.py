"""``SHOW REPLICA STATUS`` / ``SHOW SLAVE STATUS`` (live rows or pasted ``\\G`` text) as the replication frame.

Both spellings are read: ``Replica_IO_Running``/``Slave_IO_Running``, ``Source_Host``/``Master_Host``,
``Seconds_Behind_Source``/``Seconds_Behind_Master``.  ``Last_*_Error_Timestamp`` (``YYMMDD HH:MM:SS``, server local
time) is read as UTC.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..sources.sql_common import REPLICATION, frame_of
from .mysqlcli import parse_vertical


def _get(row: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        for key in (name, name.replace("Replica", "Slave").replace("Source", "Master")):
            if key in row and row[key] not in (None, ""):
                value = row[key]
                return value.decode() if isinstance(value, bytes) else value
    return None


def _yes(value: Any) -> bool | None:
    if value is None:
        return None
    return str(value).strip().lower() in ("yes", "1", "true", "on")


def _error_at(value: Any) -> pd.Timestamp | None:
    if not value:
        return None
    text = str(value).strip()
    for fmt in ("%y%m%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return pd.to_datetime(text, format=fmt).tz_localize("UTC")
        except ValueError:
            continue
    return None


def replica_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """One replica-status mapping as a replication-frame row."""
    io, sql = _yes(_get(row, "Replica_IO_Running")), _yes(_get(row, "Replica_SQL_Running"))
    errors = [e for e in (_get(row, "Last_IO_Error"), _get(row, "Last_SQL_Error")) if e]
    lag = _get(row, "Seconds_Behind_Source")
    host, port = _get(row, "Source_Host"), _get(row, "Source_Port")
    stamps = [_error_at(_get(row, "Last_SQL_Error_Timestamp")), _error_at(_get(row, "Last_IO_Error_Timestamp"))]
    return {
        "role": "replica", "peer": f"{host}:{port}" if host else None,
        "state": _get(row, "Replica_IO_State") or ("stopped" if io is False or sql is False else None),
        "io_running": io, "sql_running": sql, "lag_s": None if lag is None else float(lag),
        "sent_position": _position(_get(row, "Source_Log_File"), _get(row, "Read_Source_Log_Pos")),
        "replay_position": _position(_get(row, "Relay_Source_Log_File"), _get(row, "Exec_Source_Log_Pos")),
        "last_error": "; ".join(dict.fromkeys(errors)) or None,
        "last_error_at": max((s for s in stamps if s is not None), default=None),
    }


def _position(file: Any, pos: Any) -> str | None:
    return f"{file}:{pos}" if file else None


def replica_frame(rows: list[Mapping[str, Any]]) -> pd.DataFrame:
    """Replica-status rows (from the server or :func:`parse_replica_status`) as the replication frame."""
    return frame_of([replica_row(r) for r in rows], REPLICATION)


def parse_replica_status(text: str) -> pd.DataFrame:
    """Pasted ``SHOW SLAVE STATUS\\G`` / ``SHOW REPLICA STATUS\\G`` text as the replication frame."""
    return replica_frame(parse_vertical(text))
