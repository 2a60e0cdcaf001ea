"""The LATEST DETECTED DEADLOCK section of ``SHOW ENGINE INNODB STATUS`` (MySQL 5.x-8.0, MariaDB, Percona).

:func:`parse_innodb_deadlock` gives one row per transaction with the columns of
:data:`irlib.sources.sql_common.DEADLOCK`.  InnoDB prints the time in the server's local zone with no offset; it is
read as UTC (pass ``tz`` when the server runs in another zone).
"""
from __future__ import annotations

import re
from typing import Any

import pandas as pd

from ..sources.sql_common import DEADLOCK, frame_of

_SECTION = re.compile(r"^LATEST DETECTED DEADLOCK\s*\n-+\s*\n(?P<body>.*?)(?=^-{4,}\s*\n[A-Z][A-Z /]+\n-{4,}|"
                      r"^END OF INNODB MONITOR OUTPUT|\Z)", re.MULTILINE | re.DOTALL)
_STAMP = re.compile(r"^(?:(?P<short>\d{6}\s+\d{1,2}:\d{2}:\d{2})|(?P<long>\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2}:\d{2}))")
_TRX_HEAD = re.compile(r"^\*\*\* (?:\((?P<n>\d+)\) )?TRANSACTION:\s*$")
_TRX = re.compile(r"^TRANSACTION (?P<id>[0-9A-Fa-f]+(?: \d+)?), ACTIVE (?P<active>\d+) sec\s*(?P<what>.*)$")
_THREAD = re.compile(r"^(?:MySQL|MariaDB) thread id (?P<tid>\d+)(?:, OS thread handle \S+)?, query id \d+\s*(?P<rest>.*)$")
_MARK = re.compile(r"^\*\*\* (?:\((?P<n>\d+)\) )?(?P<what>WAITING FOR THIS LOCK TO BE GRANTED|HOLDS THE LOCK\(S\)):")
_LOCK = re.compile(r"^(?P<type>RECORD|TABLE) LOCKS? .*?(?:index `?(?P<index>[^` ]+)`? )?(?:of )?table `?(?P<table>[^ ]+?)`?"
                   r" trx id \S+(?: \d+)? lock[_ ]mode (?P<mode>[A-Z][A-Z-]*)")
_VICTIM = re.compile(r"^\*\*\* WE ROLL BACK TRANSACTION \((?P<n>\d+)\)")
_IP = re.compile(r"^[0-9a-fA-F:.]+$")


def parse_innodb_deadlock(status: str, *, tz: str = "UTC") -> pd.DataFrame:
    """The latest deadlock in InnoDB status text as a frame (empty when the server has seen none)."""
    match = _SECTION.search(status.replace("\r\n", "\n"))
    if not match:
        return frame_of([], DEADLOCK)
    lines = match.group("body").splitlines()
    at = _stamp(lines[0] if lines else "", tz)
    trxs: dict[int, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    mark = ""
    victim = None
    for line in lines:
        head = _TRX_HEAD.match(line)
        if head:
            number = int(head.group("n") or len(trxs) + 1)
            current = trxs.setdefault(number, {"process": number, "query_lines": []})
            mark = "header"
            continue
        if (found := _VICTIM.match(line)):
            victim = int(found.group("n"))
            continue
        if (found := _MARK.match(line)):
            current = trxs.setdefault(int(found.group("n") or len(trxs) or 1), {"process": int(found.group("n") or 1),
                                                                                 "query_lines": []})
            mark = "waits" if found.group("what").startswith("WAITING") else "holds"
            continue
        if current is not None:
            mark = _absorb(current, line, mark)
    return frame_of(_rows(trxs, at, victim), DEADLOCK)


def _absorb(trx: dict[str, Any], line: str, mark: str) -> str:
    """Fold one line into the transaction being read; returns the section now being read."""
    if mark == "header":
        if (found := _TRX.match(line)):
            trx["trx_id"] = found.group("id")
        elif (found := _THREAD.match(line)):
            trx["pid"] = int(found.group("tid"))
            trx.update(_who(found.group("rest")))
            return "query"
    elif mark == "query":
        if line.strip():
            trx["query_lines"].append(line)
    elif mark in ("waits", "holds") and (found := _LOCK.match(line)) and mark not in trx:
        trx[mark] = line.strip()
        if mark == "waits":
            trx.update(lock_type=found.group("type"), lock_mode=found.group("mode"),
                       relation=found.group("table").replace("`", "").replace("/", "."), index_name=found.group("index"))
    return mark


def _who(rest: str) -> dict[str, str]:
    """``localhost root Updating`` / ``localhost 127.0.0.1 app updating`` -> client and user."""
    tokens = rest.split()
    if not tokens:
        return {}
    if len(tokens) >= 3 and _IP.match(tokens[1]) and not _IP.match(tokens[0]):
        return {"client": tokens[1], "user": tokens[2]}
    return {"client": tokens[0], "user": tokens[1] if len(tokens) > 1 else ""}


def _rows(trxs: dict[int, dict[str, Any]], at: pd.Timestamp | None, victim: int | None) -> list[dict[str, Any]]:
    rows = []
    for number in sorted(trxs):
        trx = dict(trxs[number])
        trx["query"] = "\n".join(trx.pop("query_lines")).strip() or None
        trx.update(at=at, deadlock=1, victim=victim == number, waiting_for=trx.pop("waits", None))
        if len(trxs) == 2:
            trx["blocked_by"] = next(n for n in trxs if n != number)
        rows.append(trx)
    return rows


def _stamp(line: str, tz: str) -> pd.Timestamp | None:
    found = _STAMP.match(line.strip())
    if not found:
        return None
    if found.group("short"):
        stamp = pd.to_datetime(found.group("short"), format="%y%m%d %H:%M:%S")
    else:
        stamp = pd.Timestamp(found.group("long"))
    return stamp.tz_localize(tz).tz_convert("UTC")
