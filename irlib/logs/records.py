"""Lines to records: format detection, header parsing, multi-line joining, levels and UTC timestamps.

The records frame (:data:`RECORDS_SCHEMA`), one row per record:

- ``timestamp`` (datetime64[ns, UTC]): the record's time; NaT only when ``time_parsed`` is false
- ``source`` (string): the log's name
- ``line_no`` (Int64): the record's first line in the input (1-based)
- ``level`` (string): TRACE, DEBUG, INFO, WARN, ERROR, FATAL or "" (none / unknown)
- ``logger`` (string): logger, component or program name, "" when the format has none
- ``message`` (string): the record's text after its header; continuation lines joined with "\\n"
- ``format`` (string): the format the record was read as
- ``time_parsed`` (boolean): whether a time was read for the record
- ``decode_error`` (boolean): whether any of its lines had bytes invalid in the encoding
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..analysis.text import counted
from ..frames import UTC_TS, conform
from .formats import (JSON_FORMATS, TEXT_FORMATS, attach_detail_lines, canonical_format, detect_format,
                      parse_structured, parse_text)
from .multiline import join_records, normalise_levels
from .readers import Lines
from .timestamps import parse_timestamps

RECORDS_SCHEMA: dict[str, str] = {
    "timestamp": UTC_TS, "source": "string", "line_no": "Int64", "level": "string", "logger": "string",
    "message": "string", "format": "string", "time_parsed": "boolean", "decode_error": "boolean",
}


@dataclass
class ParseOptions:
    """How to read a log: ``fmt`` (None = detect), ``reference`` (year for yearless times), ``timezone`` for times
    without an offset."""

    fmt: str | None = None
    reference: pd.Timestamp | None = None
    timezone: str = "UTC"
    notes: list[str] = field(default_factory=list)


def records_table(lines: Lines, source: str, options: ParseOptions,
                  fallback_ts: pa.Array | None = None) -> pa.Table:
    """Records of decoded lines as an Arrow table with the :data:`RECORDS_SCHEMA` columns.

    ``fallback_ts`` (one UTC timestamp per line, e.g. the Kubernetes or Docker time of the line) is used for records
    whose own header has no readable time.
    """
    text = lines.text
    fmt = canonical_format(options.fmt) if options.fmt else detect_format(text.slice(0, 200).to_pylist())
    line_no, decode_error = lines.line_no, lines.decode_error
    if fmt == "docker":
        return _docker_table(lines, source, options)
    if fmt in JSON_FORMATS or fmt == "logfmt":
        text_fmt = detect_format([s for s in text.slice(0, 200).to_pylist() if not (s or "").lstrip().startswith("{")])
        parsed, origin = parse_structured(text, fmt, lambda arr: parse_text(arr, text_fmt))
        take = pa.array(origin, pa.int64())
        line_no, decode_error = pc.take(line_no, take), pc.take(decode_error, take)
        fallback_ts = None if fallback_ts is None else pc.take(fallback_ts, take)
    else:
        parsed = attach_detail_lines(parse_text(text, fmt))
    joined = join_records(parsed, line_no, decode_error)
    ts = parse_timestamps(joined.ts, reference=options.reference, timezone=options.timezone)
    if fallback_ts is not None and len(ts):
        ts = pc.coalesce(ts, pc.take(fallback_ts.cast(ts.type), joined.first_index))
    unparsed = int(pc.sum(pc.and_(pc.is_null(ts), pc.is_valid(joined.ts))).as_py() or 0)
    if unparsed:
        options.notes.append(f"{source}: {counted(unparsed, 'record time')} could not be read (timestamp NaT, "
                             "time_parsed false); give format= or timezone= if they should be")
    n = len(joined.msg)
    return pa.table({
        "timestamp": ts, "source": pa.repeat(pa.scalar(source, pa.string()), n), "line_no": joined.line_no,
        "level": normalise_levels(joined.level), "logger": pc.fill_null(joined.logger, ""),
        "message": pc.fill_null(joined.msg, ""), "format": pa.repeat(pa.scalar(fmt, pa.string()), n),
        "time_parsed": pc.is_valid(ts), "decode_error": joined.decode_error,
    })


def _docker_table(lines: Lines, source: str, options: ParseOptions) -> pa.Table:
    texts, times, numbers, errors = docker_lines(lines)
    inner = Lines(line_no=numbers, text=texts, decode_error=errors)
    fallback = parse_timestamps(times)
    inner_options = ParseOptions(fmt=None, reference=options.reference, timezone=options.timezone,
                                 notes=options.notes)
    table = records_table(inner, source, inner_options, fallback_ts=fallback)
    return table.set_column(table.schema.get_field_index("format"), "format",
                            pa.array(["docker"] * len(table), pa.string()))


def docker_lines(lines: Lines) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """Docker json-file lines as (text, time, first line_no, decode_error) with partial lines re-joined.

    A ``log`` value without a final newline is a partial line: it is joined with the following ones.
    """
    texts: list[str] = []
    times: list[str | None] = []
    numbers: list[int] = []
    errors: list[bool] = []
    pending: list[str] = []
    for no, raw, err in zip(lines.line_no.to_pylist(), lines.text.to_pylist(), lines.decode_error.to_pylist()):
        try:
            obj = json.loads(raw or "")
        except ValueError:
            obj = None
        piece = obj.get("log") if isinstance(obj, dict) else None
        if not isinstance(piece, str):
            piece = (raw or "") + "\n"
            obj = {}
        if not pending:
            numbers.append(no)
            times.append(obj.get("time"))
            errors.append(bool(err))
        else:
            errors[-1] = errors[-1] or bool(err)
        pending.append(piece)
        if piece.endswith("\n"):
            texts.append("".join(pending)[:-1])
            pending = []
    if pending:
        texts.append("".join(pending))
    return (pa.array(texts, pa.large_string()), pa.array(times, pa.string()), pa.array(numbers, pa.int64()),
            pa.array(errors, pa.bool_()))


def to_frame(table: pa.Table) -> pd.DataFrame:
    """The records table as a pandas frame with exactly the :data:`RECORDS_SCHEMA` dtypes."""
    frame = table.to_pandas()
    return conform(frame, RECORDS_SCHEMA)


def empty_table() -> pa.Table:
    """A records table with no rows."""
    return pa.table({"timestamp": pa.array([], pa.timestamp("ns", tz="UTC")), "source": pa.array([], pa.string()),
                     "line_no": pa.array([], pa.int64()), "level": pa.array([], pa.string()),
                     "logger": pa.array([], pa.string()), "message": pa.array([], pa.string()),
                     "format": pa.array([], pa.string()), "time_parsed": pa.array([], pa.bool_()),
                     "decode_error": pa.array([], pa.bool_())})


__all__ = ["RECORDS_SCHEMA", "ParseOptions", "records_table", "docker_lines", "to_frame", "empty_table",
           "TEXT_FORMATS"]
