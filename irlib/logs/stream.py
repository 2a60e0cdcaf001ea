"""Whole-file log analysis in bounded memory: chunked reading, incremental template and error-class counts.

:func:`analyse_file` reads a file (plain or gzip) in chunks that end at a newline, turns each chunk into records
(the last record of a chunk is held back and re-read with the next chunk, so multi-line records are never cut),
and adds each chunk's templates and error classes to running totals.  Memory is bounded by the chunk size, not the
file size.  Each chunk's messages are masked into shapes whose counts add up across chunks; the shapes are clustered
once at the end, so the templates are the ones mining the whole file at once would give.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..frames import conform, empty_frame
from .errors import classify_errors
from .readers import decode_lines, iter_byte_chunks
from .records import ParseOptions, records_table
from .templates import cluster_keys, shape_keys, template_id, template_text

STREAM_CHUNK_BYTES = 12 * 1024 * 1024
SUMMARY_TEMPLATES_SCHEMA = {"template_id": "string", "level": "string", "template": "string", "count": "Int64",
                            "first_seen": "datetime64[ns, UTC]", "last_seen": "datetime64[ns, UTC]",
                            "example": "string"}
SUMMARY_ERRORS_SCHEMA = {"error_class": "string", "kind": "string", "count": "Int64",
                         "first_seen": "datetime64[ns, UTC]", "last_seen": "datetime64[ns, UTC]", "example": "string"}


@dataclass
class _Tally:
    count: int = 0
    first: int | None = None
    last: int | None = None
    example: str = ""

    def add(self, count: int, first: int | None, last: int | None, example: str) -> None:
        if not self.count:
            self.example = example
        self.count += count
        if first is not None:
            self.first = first if self.first is None else min(self.first, first)
        if last is not None:
            self.last = last if self.last is None else max(self.last, last)


@dataclass
class LogSummary:
    """Running totals of a streamed log: records, lines, unread times, per-level counts, templates, error classes."""

    records: int = 0
    lines: int = 0
    unparsed_times: int = 0
    format: str = ""
    levels: dict[str, int] = field(default_factory=dict)
    shape_tallies: dict[str, _Tally] = field(default_factory=dict)
    error_tallies: dict[tuple[str, str], _Tally] = field(default_factory=dict)

    def templates(self) -> pd.DataFrame:
        """``SUMMARY_TEMPLATES_SCHEMA`` (the columns of ``analysis.templates``), most frequent first."""
        rows = [{"template_id": template_id(level, text), "level": level, "template": text, "count": t.count,
                 "first_seen": _ts(t.first), "last_seen": _ts(t.last), "example": t.example}
                for (level, text), t in self.template_tallies().items()]
        return _ranked(rows, SUMMARY_TEMPLATES_SCHEMA)

    def template_tallies(self) -> dict[tuple[str, str], _Tally]:
        """Shapes seen in every chunk clustered together once: the same templates as mining the whole file."""
        keys = list(self.shape_tallies)
        levels, tokens = cluster_keys(keys, [self.shape_tallies[k].count for k in keys])
        out: dict[tuple[str, str], _Tally] = {}
        for key, level, toks in zip(keys, levels, tokens):
            t = self.shape_tallies[key]
            out.setdefault((level, template_text(toks)), _Tally()).add(t.count, t.first, t.last, t.example)
        return out

    def error_classes(self) -> pd.DataFrame:
        """``SUMMARY_ERRORS_SCHEMA`` (the columns of ``analysis.error_classes``), most frequent first."""
        rows = [{"error_class": cls, "kind": kind, "count": t.count, "first_seen": _ts(t.first),
                 "last_seen": _ts(t.last), "example": t.example} for (cls, kind), t in self.error_tallies.items()]
        return _ranked(rows, SUMMARY_ERRORS_SCHEMA)


def _ts(value: int | None) -> pd.Timestamp:
    return pd.Timestamp(value, tz="UTC") if value is not None else pd.NaT


def _ranked(rows: list[dict[str, object]], schema: dict[str, str]) -> pd.DataFrame:
    if not rows:
        return empty_frame(schema)
    frame = pd.DataFrame(rows).sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
    return conform(frame, schema)


def analyse_file(path: str | Path, *, fmt: str | None = None, encoding: str | None = None,
                 reference: pd.Timestamp | None = None, timezone: str = "UTC",
                 chunk_bytes: int = STREAM_CHUNK_BYTES) -> LogSummary:
    """Analyse a whole log file chunk by chunk (see the module doc); memory stays about ``chunk_bytes`` × 8."""
    summary = LogSummary()
    carry = b""
    line_base = 1
    for chunk in iter_byte_chunks(path, chunk_bytes=chunk_bytes):
        data = carry + chunk
        lines = decode_lines(data, encoding=encoding, first_line_no=line_base)
        options = ParseOptions(fmt=fmt or summary.format or None, reference=reference, timezone=timezone)
        table = records_table(lines, str(path), options)
        summary.format = summary.format or str(table.column("format")[0]) if table.num_rows else summary.format
        held = int(table.column("line_no")[-1].as_py()) if table.num_rows > 1 else None
        if held is not None:
            keep = held - line_base  # lines of data before the last record
            cut = _offset_of_line(data, keep, len(lines))
            carry, line_base = data[cut:], held
            table = table.slice(0, table.num_rows - 1)
            summary.lines += keep
        else:
            carry, line_base = b"", line_base + len(lines)
            summary.lines += len(lines)
        _add(summary, table)
    if carry:
        lines = decode_lines(carry, encoding=encoding, first_line_no=line_base)
        table = records_table(lines, str(path), ParseOptions(fmt=fmt or summary.format or None,
                                                             reference=reference, timezone=timezone))
        summary.lines += len(lines)
        _add(summary, table)
    return summary


def _offset_of_line(data: bytes, line_index: int, total_lines: int) -> int:
    """Byte offset where the 0-based line ``line_index`` of ``total_lines`` starts (searched from the end)."""
    pos = len(data) - 1 if data.endswith(b"\n") else len(data)
    for _ in range(total_lines - line_index):
        pos = data.rfind(b"\n", 0, pos)
        if pos < 0:
            return 0
    return pos + 1


def _add(summary: LogSummary, table: pa.Table) -> None:
    if table.num_rows == 0:
        return
    summary.records += table.num_rows
    summary.unparsed_times += int(pc.sum(pc.invert(table.column("time_parsed"))).as_py() or 0)
    levels = table.column("level").combine_chunks()
    for item in pc.value_counts(levels).to_pylist():
        summary.levels[item["values"]] = summary.levels.get(item["values"], 0) + item["counts"]
    messages = table.column("message").combine_chunks()
    first_lines = messages
    if pc.any(pc.match_substring(messages, "\n")).as_py():
        first_lines = pc.replace_substring_regex(messages, pattern=r"(?s)\n.*", replacement="", max_replacements=1)
    stamps = table.column("timestamp").combine_chunks().cast(pa.int64())
    shapes = shape_keys(first_lines, levels)
    _tally(summary.shape_tallies, shapes.indices, shapes.dictionary.to_pylist(), stamps, messages)
    for kind, rows, classes in classify_errors(messages):
        if len(rows):
            keys_arr = pc.dictionary_encode(classes)
            keys = [(str(c), kind) for c in keys_arr.dictionary.to_pylist()]
            _tally(summary.error_tallies, keys_arr.indices, keys, pc.take(stamps, rows), pc.take(messages, rows))


def _tally(store: dict[Any, _Tally], index: pa.Array, keys: list[Any], stamps: pa.Array,
           messages: pa.Array) -> None:
    """Add per-key count, min/max time and first example to ``store`` (``index`` maps rows to ``keys``)."""
    table = pa.table({"k": index.cast(pa.int32()), "t": stamps, "i": pa.array(np.arange(len(index)))})
    grouped = table.group_by("k").aggregate([("t", "min"), ("t", "max"), ("i", "min"), ("i", "count")])
    for k, t_min, t_max, first_row, count in zip(*(grouped.column(c).to_pylist() for c in (
            "k", "t_min", "t_max", "i_min", "i_count"))):
        store.setdefault(keys[k], _Tally()).add(count, t_min, t_max, str(messages[first_row].as_py()))
