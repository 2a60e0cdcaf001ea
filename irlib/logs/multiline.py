"""Multi-line records: continuation lines (stack traces, "Caused by", wrapped text) join the record above them.

:func:`join_records` takes per-line parse results and returns one entry per record: the first line's header fields
and line number, the message lines joined with ``\\n``, and whether any of its lines had undecodable bytes.  Only
records that really span several lines are joined in Python; the common one-line case stays in bulk.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .formats import ParsedLines

LEVELS: tuple[str, ...] = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
_LEVEL_MAP: dict[str, str] = {
    **{k: "TRACE" for k in ("trace", "finest", "finer", "verbose", "v", "bunyan:10", "otel:1", "otel:2", "otel:3",
                            "otel:4")},
    **{k: "DEBUG" for k in ("debug", "d", "fine", "debug1", "debug2", "debug3", "debug4", "debug5", "bunyan:20",
                            "syslog:7", "otel:5", "otel:6", "otel:7", "otel:8")},
    **{k: "INFO" for k in ("info", "i", "information", "informational", "notice", "note", "log", "statement",
                           "detail", "hint", "context", "bunyan:30", "syslog:6", "syslog:5", "otel:9", "otel:10",
                           "otel:11", "otel:12")},
    **{k: "WARN" for k in ("warn", "warning", "w", "bunyan:40", "syslog:4", "otel:13", "otel:14", "otel:15",
                           "otel:16")},
    **{k: "ERROR" for k in ("error", "err", "e", "severe", "bunyan:50", "syslog:3", "otel:17", "otel:18", "otel:19",
                            "otel:20")},
    **{k: "FATAL" for k in ("fatal", "f", "a", "crit", "critical", "emerg", "emergency", "alert", "panic",
                            "bunyan:60", "syslog:2", "syslog:1", "syslog:0", "otel:21", "otel:22", "otel:23",
                            "otel:24")},
}
_LEVEL_KEYS = pa.array(list(_LEVEL_MAP), pa.large_string())
_LEVEL_VALUES = pa.array(list(_LEVEL_MAP.values()), pa.large_string())


def normalise_levels(raw: pa.Array) -> pa.Array:
    """Raw level texts as TRACE/DEBUG/INFO/WARN/ERROR/FATAL, or "" when absent or unknown."""
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(pc.fill_null(raw.cast(pa.large_string()), "")))
    mapped = pc.take(_LEVEL_VALUES, pc.index_in(lowered, value_set=_LEVEL_KEYS))
    return pc.fill_null(mapped, "")


@dataclass(frozen=True)
class JoinedRecords:
    """One entry per record: ``line_no`` (first line), ``ts`` text, raw ``level``, ``logger``, ``msg``, ``decode_error``."""

    line_no: pa.Array
    ts: pa.Array
    level: pa.Array
    logger: pa.Array
    msg: pa.Array
    decode_error: pa.Array
    first_index: pa.Array  # each record's first line, as an index into the input lines


def join_records(parsed: ParsedLines, line_no: pa.Array, decode_error: pa.Array) -> JoinedRecords:
    """Join continuation lines (``start`` false) into the record that precedes them (see the module doc)."""
    n = len(parsed.start)
    if n == 0:
        empty = pa.array([], pa.large_string())
        return JoinedRecords(pa.array([], pa.int64()), empty, empty, empty, empty, pa.array([], pa.bool_()),
                             pa.array([], pa.int64()))
    start = np.asarray(parsed.start.to_numpy(zero_copy_only=False), dtype=bool).copy()
    start[0] = True
    starts = np.flatnonzero(start)
    if len(starts) == n:
        return JoinedRecords(line_no, parsed.ts, parsed.level, parsed.logger, parsed.msg, decode_error,
                             pa.array(starts))
    idx = pa.array(starts)
    ends = np.append(starts[1:], n)
    msg = _joined_messages(parsed.msg, starts, ends)
    errors = np.logical_or.reduceat(np.asarray(decode_error.to_numpy(zero_copy_only=False), dtype=bool), starts)
    return JoinedRecords(line_no=pc.take(line_no, idx), ts=pc.take(parsed.ts, idx), level=pc.take(parsed.level, idx),
                         logger=pc.take(parsed.logger, idx), msg=msg, decode_error=pa.array(errors, pa.bool_()),
                         first_index=idx)


def _joined_messages(msg: pa.Array, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    firsts = pc.take(msg, pa.array(starts)).to_pylist()
    multi = np.flatnonzero(ends - starts > 1)
    for k in multi:
        part = msg.slice(int(starts[k]), int(ends[k] - starts[k])).to_pylist()
        firsts[k] = "\n".join(p or "" for p in part)
    return pa.array(firsts, pa.large_string())
