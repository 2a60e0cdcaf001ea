"""Log files as a source: ``inv.logs.records(name="app")``.

Configured in the incident parameters as ``sources.logs``: a list of ``{name, path, format, encoding, timezone}``
(``format`` is detected when absent; ``encoding`` is for legacy code pages, UTF-8/UTF-16 are detected;
``timezone`` is the zone of times written without an offset, default UTC).  Plain and gzip files are read.

The frame (``RECORDS_SCHEMA``), one row per record (multi-line records joined):
``timestamp`` (datetime64[ns, UTC]), ``source`` (string: the log's name), ``line_no`` (Int64: first line),
``level`` (string: TRACE/DEBUG/INFO/WARN/ERROR/FATAL or ""), ``logger`` (string), ``message`` (string: text after
the header, continuation lines joined with "\\n"), ``format`` (string), ``time_parsed`` (boolean),
``decode_error`` (boolean).

Caps: at most ``max_bytes`` of each file are read (the end of the file: logs grow at the end) and at most
``max_records`` records returned (the latest); hitting either sets ``truncated`` and says so in the notes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..analysis.text import counted
from ..errors import QueryError, SourceUnavailable
from ..incident import Incident
from ..logs.readers import LogReadError, decode_lines, read_tail_bytes
from ..logs.records import RECORDS_SCHEMA, ParseOptions, records_table, to_frame
from .base import Fetched, fetcher

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_MAX_RECORDS = 2_000_000


class LogSource:
    """Reads the incident's configured log files into records frames (see the module doc)."""

    def __init__(self, incident: Incident, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_records: int = DEFAULT_MAX_RECORDS) -> None:
        self.incident = incident
        self.logs: list[dict[str, Any]] = list(incident.sources.get("logs") or [])
        self.max_bytes = max_bytes
        self.max_records = max_records

    def _config(self, name: str) -> dict[str, Any]:
        for i, entry in enumerate(self.logs):
            if str(entry.get("name") or Path(str(entry["path"])).name) == name or (not entry.get("name") and
                                                                                 name == f"log{i}"):
                return entry
        known = ", ".join(str(e.get("name") or Path(str(e["path"])).name) for e in self.logs) or "none configured"
        raise QueryError("logs", f"records name={name}", f"no log named {name!r} in sources.logs (known: {known})")

    @fetcher(RECORDS_SCHEMA)
    def records(self, *, name: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> Fetched:
        """One row per log record of the log ``name``, optionally only those in [start, end] (see the module doc)."""
        entry = self._config(name)
        path = Path(str(entry["path"]))
        query = f"records name={name} path={path} format={entry.get('format') or 'auto'}"
        if start is not None or end is not None:
            query += f" start={_iso(start)} end={_iso(end)}"
        notes: list[str] = []
        try:
            data, skipped_lines, cut = read_tail_bytes(path, max_bytes=self.max_bytes)
        except LogReadError as exc:
            raise SourceUnavailable("logs", str(exc), query=query) from exc
        if cut:
            notes.append(f"{name}: file larger than {self.max_bytes} bytes; read its last {len(data)} bytes "
                         f"(from line {skipped_lines + 1})")
        try:
            lines = decode_lines(data, encoding=entry.get("encoding"), first_line_no=skipped_lines + 1)
        except LogReadError as exc:
            raise QueryError("logs", query, str(exc)) from exc
        options = ParseOptions(fmt=entry.get("format"), reference=self.incident.window.end,
                               timezone=str(entry.get("timezone") or "UTC"), notes=notes)
        table = records_table(lines, name, options)
        table, capped = self._window_and_cap(table, start, end, notes, name)
        return Fetched(frame=to_frame(table), query=query, truncated=cut or capped, notes=notes)

    def _window_and_cap(self, table: pa.Table, start: pd.Timestamp | None, end: pd.Timestamp | None,
                        notes: list[str], name: str) -> tuple[pa.Table, bool]:
        untimed = int(pc.sum(pc.invert(table["time_parsed"])).as_py() or 0)
        if untimed:
            notes.append(f"{name}: {counted(untimed, 'record')} with no readable time (time_parsed false)"
                         + ("; kept whatever the window" if start is not None or end is not None else ""))
        if start is not None or end is not None:
            keep = pc.invert(table["time_parsed"])
            inside = pa.array([True] * len(table), type=pa.bool_())
            if start is not None:
                inside = pc.and_(inside, pc.greater_equal(table["timestamp"], pa.scalar(_ts(start))))
            if end is not None:
                inside = pc.and_(inside, pc.less_equal(table["timestamp"], pa.scalar(_ts(end))))
            table = table.filter(pc.or_(keep, pc.fill_null(inside, False)))
        if len(table) > self.max_records:
            notes.append(f"{name}: {len(table)} records; kept the last {self.max_records} (max_records)")
            return table.slice(len(table) - self.max_records), True
        return table, False


def _ts(value: pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _iso(value: pd.Timestamp | None) -> str:
    return "" if value is None else _ts(value).isoformat()
