"""Whole-file log analysis in bounded memory: chunked reading, incremental template and error-class counts.

:func:`analyse_file` reads a file (plain or gzip) in chunks that end at a newline, turns each chunk into records
(the last record of a chunk is held back and re-read with the next chunk, so multi-line records are never cut),
and adds each chunk's templates and error classes to running totals.  Memory is bounded by the chunk size, not the
file size.  Each chunk's messages are masked into shapes whose counts add up across chunks; the shapes are clustered
once at the end, so the templates are the ones mining the whole file at once would give.
:func:`analyse_stream` does the same for an open stream (standard input: ``kubectl logs ... | irlib logs -``).
"""
from __future__ import annotations

import codecs
import itertools
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..frames import conform, empty_frame
from .arrowtext import may_contain_byte
from .errors import classify_errors
from .formats import canonical_format, detect_format, record_start_after
from .parallel import worker_count
from .readers import (LogReadError, decode_lines, detect_encoding, iter_byte_chunks, iter_stream_chunks,
                      looks_binary)
from .records import ParseOptions, records_table
from .templates import cluster_keys, shape_keys, template_id, template_text

Redact = Callable[[str], str]
STREAM_CHUNK_BYTES = 8 * 1024 * 1024
SPLIT_MIN_BYTES = 2 * 1024 * 1024  # a chunk is cut in two for two threads when each half is at least this big
HEAD_BYTES = 1 << 20
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
    """Running totals of a streamed log: records, lines, unread times, undecodable lines, whether it looks binary,
    per-level counts, templates, error classes."""

    records: int = 0
    lines: int = 0
    unparsed_times: int = 0
    format: str = ""
    undecodable_lines: int = 0  # lines with bytes not valid in the encoding (read with U+FFFD)
    looks_binary: bool = False  # the input's first bytes look like a binary file, not text (readers.looks_binary)
    levels: dict[str, int] = field(default_factory=dict)
    shape_tallies: dict[str, _Tally] = field(default_factory=dict)
    error_tallies: dict[tuple[str, str], _Tally] = field(default_factory=dict)

    def merge(self, other: LogSummary) -> None:
        """Add the totals of ``other`` (the records that follow this summary's) to this one; ``lines`` excepted."""
        self.records += other.records
        self.unparsed_times += other.unparsed_times
        self.undecodable_lines += other.undecodable_lines
        self.looks_binary = self.looks_binary or other.looks_binary
        self.format = self.format or other.format
        for level, count in other.levels.items():
            self.levels[level] = self.levels.get(level, 0) + count
        for store, extra in ((self.shape_tallies, other.shape_tallies), (self.error_tallies, other.error_tallies)):
            for key, tally in extra.items():
                store.setdefault(key, _Tally()).add(tally.count, tally.first, tally.last, tally.example)

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
    for column in ("first_seen", "last_seen"):  # all NaT (a log without readable times) has no zone of its own
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return conform(frame, schema)


def analyse_file(path: str | Path, *, fmt: str | None = None, encoding: str | None = None,
                 reference: pd.Timestamp | None = None, timezone: str = "UTC",
                 chunk_bytes: int = STREAM_CHUNK_BYTES, redact: Redact | None = None) -> LogSummary:
    """Analyse a whole log file (plain or gzip) chunk by chunk (see :func:`analyse_chunks`)."""
    return analyse_chunks(iter_byte_chunks(path, chunk_bytes=chunk_bytes), str(path), fmt=fmt, encoding=encoding,
                          reference=reference, timezone=timezone, redact=redact)


def analyse_stream(stream: BinaryIO, *, name: str = "-", fmt: str | None = None, encoding: str | None = None,
                   reference: pd.Timestamp | None = None, timezone: str = "UTC",
                   chunk_bytes: int = STREAM_CHUNK_BYTES, redact: Redact | None = None) -> LogSummary:
    """Analyse an open binary stream such as ``sys.stdin.buffer`` (plain or gzip) as it arrives."""
    chunks = iter_stream_chunks(stream, chunk_bytes=chunk_bytes,  # type: ignore[arg-type]
                                name="standard input" if name == "-" else name)
    return analyse_chunks(chunks, name, fmt=fmt, encoding=encoding, reference=reference, timezone=timezone,
                          redact=redact)


def analyse_chunks(chunks: Iterable[bytes], source: str, *, fmt: str | None = None, encoding: str | None = None,
                   reference: pd.Timestamp | None = None, timezone: str = "UTC",
                   redact: Redact | None = None) -> LogSummary:
    """Analyse a log given as newline-ended byte chunks (see the module doc); memory stays about 40 × one chunk.

    ``redact`` (e.g. ``Redactor().text``) is applied to every distinct message before anything is derived from it,
    so no template, class or example holds a secret, not even a piece of one.

    A large chunk of a text log is cut in two at a line that starts a record and the halves are analysed on two
    threads (Arrow releases the GIL), their totals added in order: the same totals, sooner.
    """
    summary = LogSummary()
    carry = b""
    line_base = 1
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is not None:
        summary.looks_binary = looks_binary(first, encoding)
        chunks = itertools.chain([first], chunks)
    chunks, encoding = _as_utf8(chunks, encoding)
    for chunk in chunks:
        data = carry + chunk
        pieces, known = _pieces(data, fmt or summary.format or None, encoding, line_base)
        options = ParseOptions(fmt=known, reference=reference, timezone=timezone)
        hold_from = 2 if len(pieces) == 1 else 1  # hold back the last record only when it is not the only one
        parts = _in_threads([(piece, first, source, options, encoding, hold_from if k == len(pieces) - 1 else 0,
                              redact) for k, (piece, first) in enumerate(pieces)])
        total_lines = sum(lines for _, _, lines in parts)
        for part, _, _ in parts:
            summary.merge(part)
        held = parts[-1][1]
        if held is not None:
            keep = held - line_base  # lines of data before the last record
            cut = _offset_of_line(data, keep, total_lines)
            carry, line_base = data[cut:], held
            summary.lines += keep
        else:
            carry, line_base = b"", line_base + total_lines
            summary.lines += total_lines
        pa.default_memory_pool().release_unused()  # hand the chunk's buffers back: RSS stays flat over the file
    if carry:
        options = ParseOptions(fmt=fmt or summary.format or None, reference=reference, timezone=timezone)
        part, _, lines = _analyse_piece(carry, line_base, source, options, encoding, 0, redact)
        summary.merge(part)
        summary.lines += lines
    return summary


def _as_utf8(chunks: Iterator[bytes], encoding: str | None) -> tuple[Iterator[bytes], str | None]:
    """The chunks as UTF-8 (and the encoding to read them with): UTF-16 and legacy encodings are decoded
    incrementally and re-encoded, so no chunk edge falls inside a character and line offsets are UTF-8 ones."""
    first = next(chunks, None)
    if first is None:
        return iter(()), encoding
    enc, bom = detect_encoding(first, encoding)
    try:
        codec = codecs.lookup(enc)
    except LookupError as exc:
        raise LogReadError(f"unknown encoding {enc!r}; use a Python codec name such as utf-8, cp1252 or gbk") from exc
    if codec.name == "utf-8":
        return itertools.chain([first], chunks), encoding
    decoder = codecs.getincrementaldecoder(enc)(errors="replace")

    def utf8_chunks() -> Iterator[bytes]:
        rest = ""
        for number, chunk in enumerate(itertools.chain([first], chunks)):
            text = rest + decoder.decode(chunk[bom:] if number == 0 else chunk)
            cut = text.rfind("\n") + 1
            rest = text[cut:]
            if cut:
                yield text[:cut].encode("utf-8")
        text = rest + decoder.decode(b"", final=True)
        if text:
            yield text.encode("utf-8")

    return utf8_chunks(), "utf-8"


def _analyse_piece(data: bytes, first_line: int, source: str, options: ParseOptions, encoding: str | None,
                   hold_from: int, redact: Redact | None = None) -> tuple[LogSummary, int | None, int]:
    """(totals of the piece's records, first line of the record held back or None, lines read).

    With ``hold_from`` > 0 and at least that many records, the last record is held back (left out of the totals):
    it may go on in the next chunk.
    """
    lines = decode_lines(data, encoding=encoding, first_line_no=first_line)
    table = records_table(lines, source, ParseOptions(options.fmt, options.reference, options.timezone))
    part = LogSummary(format=str(table.column("format")[0]) if table.num_rows else "")
    held = None
    if hold_from and table.num_rows >= hold_from:
        held = int(table.column("line_no")[-1].as_py())
        table = table.slice(0, table.num_rows - 1)
    counted = lines.decode_error if held is None else lines.decode_error.slice(0, held - first_line)
    part.undecodable_lines = int(pc.sum(counted.cast(pa.int64())).as_py() or 0)  # held lines count next time
    _add(part, table, redact)
    return part, held, len(lines)


def _in_threads(calls: list[tuple[Any, ...]]) -> list[tuple[LogSummary, int | None, int]]:
    if len(calls) == 1:
        return [_analyse_piece(*calls[0])]
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda args: _analyse_piece(*args), calls))


def _pieces(data: bytes, fmt: str | None, encoding: str | None,
            line_base: int) -> tuple[list[tuple[bytes, int]], str | None]:
    """``data`` as one piece, or two cut at a record start near the middle (UTF-8 text formats, two cores, big
    enough), each with the number of its first line; and the format (detected here when cutting needs it)."""
    whole = [(data, line_base)]
    if worker_count() < 2 or len(data) < 2 * SPLIT_MIN_BYTES or detect_encoding(data, encoding) != ("utf-8", 0):
        return whole, fmt
    fmt = fmt or _head_format(data, encoding)
    at = None if fmt is None else record_start_after(data, len(data) // 2, canonical_format(fmt))
    if at is None:
        return whole, fmt
    return [(data[:at], line_base), (data[at:], line_base + data.count(b"\n", 0, at))], fmt


def _head_format(data: bytes, encoding: str | None) -> str | None:
    """The format detected on the first 200 lines of ``data`` (as :func:`records_table` would detect it), or None
    when its first MiB holds fewer lines (records_table then detects on the whole chunk)."""
    head = data[:HEAD_BYTES]
    head = head[: head.rfind(b"\n") + 1]
    text = decode_lines(head, encoding=encoding).text
    return detect_format(text.slice(0, 200).to_pylist()) if len(text) >= 200 else None


def _offset_of_line(data: bytes, line_index: int, total_lines: int) -> int:
    """Byte offset where the 0-based line ``line_index`` of ``total_lines`` starts (searched from the end)."""
    pos = len(data) - 1 if data.endswith(b"\n") else len(data)
    for _ in range(total_lines - line_index):
        pos = data.rfind(b"\n", 0, pos)
        if pos < 0:
            return 0
    return pos + 1


def _add(summary: LogSummary, table: pa.Table, redact: Redact | None = None) -> None:
    if table.num_rows == 0:
        return
    summary.records += table.num_rows
    summary.unparsed_times += int(pc.sum(pc.invert(table.column("time_parsed"))).as_py() or 0)
    levels = table.column("level").combine_chunks()
    for item in pc.value_counts(levels).to_pylist():
        summary.levels[item["values"]] = summary.levels.get(item["values"], 0) + item["counts"]
    messages = table.column("message").combine_chunks()
    if redact is not None:
        messages = _redacted(messages, redact)
    first_lines = messages
    if may_contain_byte(messages, 10) and pc.any(pc.match_substring(messages, "\n")).as_py():
        first_lines = pc.replace_substring_regex(messages, pattern=r"(?s)\n.*", replacement="", max_replacements=1)
    stamps = table.column("timestamp").combine_chunks().cast(pa.int64())
    shapes = shape_keys(first_lines, levels)
    _tally(summary.shape_tallies, shapes.indices, shapes.dictionary.to_pylist(), stamps, messages)
    for kind, rows, classes in classify_errors(messages):
        if len(rows):
            keys_arr = pc.dictionary_encode(classes)
            keys = [(str(c), kind) for c in keys_arr.dictionary.to_pylist()]
            _tally(summary.error_tallies, keys_arr.indices, keys, pc.take(stamps, rows), pc.take(messages, rows))


def _redacted(messages: pa.Array, redact: Redact) -> pa.Array:
    """``messages`` with ``redact`` applied to each distinct one."""
    encoded = pc.dictionary_encode(messages)
    clean = pa.array([redact(m) for m in encoded.dictionary.to_pylist()], messages.type)
    return pc.take(clean, encoded.indices)


def _tally(store: dict[Any, _Tally], index: pa.Array, keys: list[Any], stamps: pa.Array,
           messages: pa.Array) -> None:
    """Add per-key count, min/max time and first example to ``store`` (``index`` maps rows to ``keys``)."""
    table = pa.table({"k": index.cast(pa.int32()), "t": stamps, "i": pa.array(np.arange(len(index)))})
    grouped = table.group_by("k").aggregate([("t", "min"), ("t", "max"), ("i", "min"), ("i", "count")])
    for k, t_min, t_max, first_row, count in zip(*(grouped.column(c).to_pylist() for c in (
            "k", "t_min", "t_max", "i_min", "i_count"))):
        store.setdefault(keys[k], _Tally()).add(count, t_min, t_max, str(messages[first_row].as_py()))
