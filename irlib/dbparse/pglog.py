"""PostgreSQL server logs (stderr with any ``log_line_prefix``, Heroku logplex, syslog-wrapped) as frames.

:func:`parse_pg_log` assembles messages: a line holding ``SEVERITY:  text`` starts one, tab-indented or logplex
``[n-m]`` continuation lines extend it, and DETAIL / HINT / CONTEXT / STATEMENT / QUERY lines attach to the message
before them from the same process.  From the messages: :func:`durations` (``duration: ... ms`` lines),
:func:`lock_waits` (``log_lock_waits`` lines, with holders and wait queue) and :func:`deadlocks` (every process of
every ``deadlock detected`` report, in the :data:`irlib.sources.sql_common.DEADLOCK` columns).  Times without a
zone, or with a zone abbreviation other than UTC/GMT, are read as UTC.
"""
from __future__ import annotations

import re
from typing import Any

import pandas as pd

from ..frames import UTC_TS
from ..sources.sql_common import DEADLOCK, frame_of

#: :func:`parse_pg_log` columns: one row per message.
PG_LOG: dict[str, str] = {
    "at": UTC_TS, "pid": "Int64", "user": "string", "database": "string", "severity": "string",
    "sqlstate": "string", "message": "string", "detail": "string", "hint": "string", "context": "string",
    "statement": "string", "line": "Int64",
}
DURATIONS: dict[str, str] = {"at": UTC_TS, "pid": "Int64", "user": "string", "database": "string",
                             "duration_s": "float64", "statement": "string"}
LOCK_WAITS: dict[str, str] = {
    "at": UTC_TS, "pid": "Int64", "event": "string", "lock_mode": "string", "lock_object": "string",
    "wait_s": "float64", "holders": "object", "queue": "object", "relation": "string", "statement": "string",
}
_SEVERITY = re.compile(r"^(?P<prefix>.*?)\b(?P<sev>LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG[1-5]?|DETAIL|"
                       r"HINT|CONTEXT|STATEMENT|QUERY|LOCATION):  ?(?P<msg>.*)$")
_ATTACHED = {"DETAIL": "detail", "HINT": "hint", "CONTEXT": "context", "STATEMENT": "statement", "QUERY": "statement"}
_STAMP = re.compile(r"(?P<ts>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?P<tz>\s*(?:[+-]\d{2}(?::?\d{2})?|Z|"
                    r"[A-Z]{2,5}\b))?")
_PID = re.compile(r"(?:\[(?P<a>\d+)\]|postgres\.(?P<b>\d+)|\bpid=(?P<c>\d+))")
_USER_DB = re.compile(r"(?:\buser=(?P<u1>[\w.-]+).*?\bdb=(?P<d1>[\w.-]+)|\s(?P<u2>[\w.-]+)@(?P<d2>[\w.-]+)(?:\s|$))")
_SQLSTATE = re.compile(r"sql_error_code = (?P<code>[0-9A-Z]{5})")
_LOGPLEX = re.compile(r"\[\d+-\d+\]\s?")
_DURATION = re.compile(r"^duration: (?P<ms>[\d.]+) ms(?:\s+(?:statement|execute [^:]*|bind [^:]*|parse [^:]*): "
                       r"(?P<stmt>[\s\S]*))?$")
_WAIT = re.compile(r"^process (?P<pid>\d+) (?P<event>still waiting for|acquired|detected deadlock while waiting for|"
                   r"avoided deadlock for) (?P<mode>\w+) on (?P<object>.+?) after (?P<ms>[\d.]+) ms")
_HOLDERS = re.compile(r"Process(?:es)? holding the lock: (?P<h>[\d, ]+)\.(?: Wait queue: (?P<q>[\d, ]+)\.)?")
_RELATION = re.compile(r'relation "(?P<rel>[^"]+)"')
_DL_WAIT = re.compile(r"^Process (?P<pid>\d+) waits for (?P<mode>\w+) on (?P<object>.+?); blocked by process "
                      r"(?P<by>\d+)\.?$")
_DL_QUERY = re.compile(r"^Process (?P<pid>\d+): (?P<query>[\s\S]*)$")


def parse_pg_log(text: str) -> pd.DataFrame:
    """Every message of a PostgreSQL log as a row (see :data:`PG_LOG`)."""
    messages: list[dict[str, Any]] = []
    last: dict[str, Any] | None = None
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        found = _SEVERITY.match(line)
        if not found:
            if last is not None and line.strip():
                _continue(last, line)
            continue
        prefix, severity = found.group("prefix"), found.group("sev")
        pid = _pid(prefix)
        if severity in _ATTACHED and last is not None and last["pid"] == pid:
            last["_field"] = _ATTACHED[severity]
            last[last["_field"]] = found.group("msg")
            continue
        last = {**_prefix_fields(prefix), "pid": pid, "severity": severity, "message": found.group("msg"),
                "line": number, "_field": "message"}
        messages.append(last)
    for message in messages:
        message.pop("_field", None)
    return frame_of(messages, PG_LOG)


def _continue(message: dict[str, Any], line: str) -> None:
    plex = _LOGPLEX.search(line)
    content = line[plex.end():] if plex else line
    field = message["_field"]
    message[field] = f"{message.get(field) or ''}\n{content.lstrip(chr(9)) if content.startswith(chr(9)) else content}"


def _pid(prefix: str) -> int | None:
    found = _PID.search(prefix)
    return int(found.group("a") or found.group("b") or found.group("c")) if found else None


def _prefix_fields(prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {"at": None, "user": None, "database": None, "sqlstate": None}
    if (stamp := _STAMP.search(prefix)):
        out["at"] = _timestamp(stamp.group("ts"), (stamp.group("tz") or "").strip())
    if (who := _USER_DB.search(prefix)):
        out["user"] = who.group("u1") or who.group("u2")
        out["database"] = who.group("d1") or who.group("d2")
    if (code := _SQLSTATE.search(prefix)):
        out["sqlstate"] = code.group("code")
    return out


def _timestamp(text: str, zone: str) -> pd.Timestamp:
    stamp = pd.Timestamp(text.replace("T", " "))
    if zone and zone[0] in "+-":
        return pd.Timestamp(f"{text.replace('T', ' ')}{zone}").tz_convert("UTC")
    return stamp.tz_localize("UTC")


def durations(messages: pd.DataFrame) -> pd.DataFrame:
    """``duration: ... ms`` messages: seconds and the statement (from the same line or its STATEMENT)."""
    rows = []
    for m in messages[messages["message"].str.startswith("duration: ", na=False)].to_dict("records"):
        found = _DURATION.match(str(m["message"]))
        if found:
            stmt = found.group("stmt") if found.group("stmt") else m["statement"]
            rows.append({**m, "duration_s": float(found.group("ms")) / 1000.0,
                         "statement": None if stmt is None or pd.isna(stmt) else str(stmt).strip()})
    return frame_of(rows, DURATIONS)


def lock_waits(messages: pd.DataFrame) -> pd.DataFrame:
    """``log_lock_waits`` messages (still waiting / acquired / detected deadlock while waiting) with the holders
    and wait queue from their DETAIL."""
    rows = []
    for m in messages.to_dict("records"):
        found = _WAIT.match(str(m["message"] or ""))
        if not found:
            continue
        detail = "" if pd.isna(m["detail"]) else str(m["detail"])
        held = _HOLDERS.search(detail)
        relation = _RELATION.search("" if pd.isna(m["context"]) else str(m["context"]))
        rows.append({"at": m["at"], "pid": int(found.group("pid")), "event": found.group("event"),
                     "lock_mode": found.group("mode"), "lock_object": found.group("object"),
                     "wait_s": float(found.group("ms")) / 1000.0,
                     "holders": _ints(held.group("h")) if held else [],
                     "queue": _ints(held.group("q")) if held and held.group("q") else [],
                     "relation": relation.group("rel") if relation else None, "statement": m["statement"]})
    return frame_of(rows, LOCK_WAITS)


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.replace(" ", "").split(",") if v]


def deadlocks(messages: pd.DataFrame) -> pd.DataFrame:
    """Every process of every ``deadlock detected`` report (see ``DEADLOCK``); the victim is the process that
    logged the error."""
    rows: list[dict[str, Any]] = []
    reports = messages[messages["message"].str.startswith("deadlock detected", na=False)]
    for number, m in enumerate(reports.to_dict("records"), start=1):
        rows.extend(_deadlock_rows(m, number))
    return frame_of(rows, DEADLOCK)


def _deadlock_rows(message: dict[str, Any], number: int) -> list[dict[str, Any]]:
    detail = "" if pd.isna(message["detail"]) else str(message["detail"])
    procs: dict[int, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for line in detail.split("\n"):
        if (wait := _DL_WAIT.match(line.strip())):
            pid = int(wait.group("pid"))
            obj = wait.group("object")
            procs.setdefault(pid, {"pid": pid})
            procs[pid].update(lock_mode=wait.group("mode"), waiting_for=f"{wait.group('mode')} on {obj}",
                              lock_type=obj.split()[0], blocked_by=int(wait.group("by")),
                              relation=obj if obj.startswith("relation") else None)
            current = None
        elif (query := _DL_QUERY.match(line.strip())):
            current = procs.setdefault(int(query.group("pid")), {"pid": int(query.group("pid"))})
            current["query"] = query.group("query")
        elif current is not None and line.strip():
            current["query"] = f"{current['query']}\n{line}"
    rows = []
    for order, pid in enumerate(procs, start=1):
        rows.append({**procs[pid], "at": message["at"], "deadlock": number, "process": order,
                     "user": message["user"], "victim": pid == message["pid"]})
    return rows
