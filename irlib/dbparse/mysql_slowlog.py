"""MySQL / MariaDB / Percona Server slow-query-log files, and a pt-query-digest style summary.

:func:`parse_slow_log` gives one row per logged statement with the :data:`SLOWLOG_FILE` columns (the source's
``SLOW_LOG`` columns plus ``thread_id`` and ``checksum``).  ``at`` comes from ``SET timestamp=`` when the entry has
one (epoch seconds, exact), else from ``# Time:`` read as UTC (the server writes its local time).  :func:`digest`
groups the rows by fingerprint the way ``pt-query-digest`` does, with the same query IDs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..frames import UTC_TS
from ..sources.sql_common import SLOW_LOG, frame_of
from .fingerprint import checksum, fingerprint

SLOWLOG_FILE: dict[str, str] = {**SLOW_LOG, "thread_id": "Int64", "checksum": "string"}
#: :func:`digest` columns: one row per fingerprint, most total time first.
DIGEST: dict[str, str] = {
    "checksum": "string", "fingerprint": "string", "calls": "Int64", "total_s": "float64", "mean_s": "float64",
    "max_s": "float64", "lock_s": "float64", "rows_sent": "Int64", "rows_examined": "Int64", "first_seen": UTC_TS,
    "last_seen": UTC_TS, "databases": "string", "users": "string", "example": "string",
}
_TIME = re.compile(r"^# Time: (?P<t>\S+(?:\s+\d{1,2}:\d{2}:\d{2}(?:\.\d+)?)?)")
_USER_HOST = re.compile(r"# User@Host: (?P<uh>.*?)(?:\s+Id:\s*\d+)?\s*$")
_PAIRS = re.compile(r"(\w+): (\S+)")
_SET_TS = re.compile(r"^SET (?:.*?,)?timestamp=(\d+)(?:,.*)?;\s*$", re.IGNORECASE)
_USE = re.compile(r"^use (\S+?);\s*$", re.IGNORECASE)
_ADMIN = re.compile(r"^# administrator command: (.*?);?\s*$")
_SERVER_HEADER = re.compile(r"^(?:/\S+, Version: |Tcp port: |Time\s+Id\s+Command\s+Argument)")
_SPLIT_UH = re.compile(r"^\s*(?P<user>[^\[\s]*)(?:\[(?P<priv>[^\]]*)\])?\s*@\s*(?P<host>\S*)\s*(?:\[(?P<ip>[^\]]*)\])?")


def split_user_host(user_host: str) -> tuple[str | None, str | None]:
    """``root[root] @ localhost [127.0.0.1]`` -> (``root``, ``127.0.0.1``); the IP is preferred to the name."""
    found = _SPLIT_UH.match(user_host or "")
    if not found:
        return None, None
    user = found.group("user") or found.group("priv") or None
    client = found.group("ip") or found.group("host") or None
    return user, client


@dataclass
class _Entry:
    meta: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    at: pd.Timestamp | None = None
    database: str | None = None
    user_host: str = ""

    def started(self) -> bool:
        return bool(self.lines)


def parse_slow_log(text: str) -> pd.DataFrame:
    """Every statement in slow-log ``text`` as a row (see :data:`SLOWLOG_FILE`)."""
    rows: list[dict[str, Any]] = []
    entry, last_time = _Entry(), None
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith("#"):
            if entry.started():
                rows.append(_row(entry))
                entry = _Entry(at=last_time)
            last_time = _header(entry, line, last_time)
        elif _SERVER_HEADER.match(line):
            continue
        else:
            _body(entry, line)
    if entry.started():
        rows.append(_row(entry))
    return frame_of(rows, SLOWLOG_FILE)


def _header(entry: _Entry, line: str, last_time: pd.Timestamp | None) -> pd.Timestamp | None:
    """Fold a ``#`` line into the entry; returns the latest ``# Time:`` seen."""
    if (found := _TIME.match(line)):
        last_time = _log_time(found.group("t"))
        entry.at = last_time
    if (found := _USER_HOST.search(line)):
        entry.user_host = found.group("uh")
    elif (found := _ADMIN.match(line)):
        entry.lines.append(f"administrator command: {found.group(1)}")
    elif not _TIME.match(line):
        entry.meta.update(dict(_PAIRS.findall(line)))
    return last_time


def _body(entry: _Entry, line: str) -> None:
    if (found := _SET_TS.match(line)) and not entry.lines:
        entry.at = pd.Timestamp(int(found.group(1)), unit="s", tz="UTC")
    elif (found := _USE.match(line)) and not entry.lines:
        entry.database = found.group(1).strip("`")
    elif line.strip() or entry.lines:
        entry.lines.append(line)


def _log_time(text: str) -> pd.Timestamp | None:
    text = text.strip()
    try:
        if re.match(r"^\d{6}\s", text):
            return pd.to_datetime(re.sub(r"\s+", " ", text), format="%y%m%d %H:%M:%S").tz_localize("UTC")
        stamp = pd.Timestamp(text)
    except ValueError:
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _row(entry: _Entry) -> dict[str, Any]:
    query = "\n".join(entry.lines).strip()
    query = query[:-1].rstrip() if query.endswith(";") else query
    user, client = split_user_host(entry.user_host)
    meta = entry.meta
    shape = fingerprint(query)
    return {"at": entry.at, "user": user, "client": client, "database": entry.database or meta.get("Schema"),
            "duration_s": _float(meta.get("Query_time")), "lock_s": _float(meta.get("Lock_time")),
            "rows_sent": _int(meta.get("Rows_sent")), "rows_examined": _int(meta.get("Rows_examined")), "calls": 1,
            "query": query, "fingerprint": shape, "thread_id": _int(meta.get("Thread_id") or meta.get("Id")),
            "checksum": checksum(shape)}


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def digest(entries: pd.DataFrame) -> pd.DataFrame:
    """Slow-log rows grouped by fingerprint (see :data:`DIGEST`), most total time first."""
    if len(entries) == 0:
        return frame_of([], DIGEST)
    groups = entries.groupby("checksum", sort=False)
    out = pd.DataFrame({
        "fingerprint": groups["fingerprint"].first(), "calls": groups.size(),
        "total_s": groups["duration_s"].sum(), "mean_s": groups["duration_s"].mean(),
        "max_s": groups["duration_s"].max(), "lock_s": groups["lock_s"].sum(),
        "rows_sent": groups["rows_sent"].sum(), "rows_examined": groups["rows_examined"].sum(),
        "first_seen": groups["at"].min(), "last_seen": groups["at"].max(),
        "databases": groups["database"].agg(_distinct), "users": groups["user"].agg(_distinct),
        "example": groups["query"].first(),
    }).reset_index()
    out = out.sort_values(["total_s", "calls", "checksum"], ascending=[False, False, True])
    return frame_of(out.to_dict("records"), DIGEST)


def _distinct(values: pd.Series) -> str | None:
    names = sorted({str(v) for v in values.dropna()})
    return ",".join(names) or None
