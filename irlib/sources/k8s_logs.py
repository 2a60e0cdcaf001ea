"""Container log bytes -> lines, without trusting the bytes.

The log endpoint streams raw bytes that may hold invalid UTF-8 or a legacy encoding, may split a multi-byte
character across two chunks, may hold one enormous line, and may end lines with CRLF.  :class:`LogLineReader` takes
the chunks as they come and yields :class:`LogLine` values:

- bytes are buffered until a newline (a newline byte never occurs inside a UTF-8 sequence), so a character split
  across chunks is decoded whole;
- each line is decoded as UTF-8; a line that is not valid UTF-8 is decoded with U+FFFD replacement and flagged;
- a line longer than ``max_line_bytes`` is cut (at a character boundary) and the rest of it skipped, flagged;
- a trailing ``\\r`` is removed.

:func:`parse_log_lines` splits the RFC 3339 timestamp that ``timestamps=true`` puts before each line.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pandas as pd

from ..frames import UTC_TS, conform

POD_LOGS_SCHEMA: dict[str, str] = {
    "timestamp": UTC_TS, "pod": "string", "container": "string", "previous": "boolean", "line": "string",
    "decode_error": "boolean",
}
DEFAULT_MAX_LINE_BYTES = 64 * 1024


@dataclass(frozen=True)
class LogLine:
    """One decoded line: its text, whether its bytes were not valid UTF-8, and whether it was cut short."""

    text: str
    decode_error: bool
    cut: bool


class LogLineReader:
    """Turn a stream of byte chunks into decoded lines, with a cap on the length of any one line."""

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self._pending = bytearray()
        self._skipping = False  # inside an over-long line whose head was already emitted

    def feed(self, chunk: bytes) -> Iterator[LogLine]:
        """The lines completed by ``chunk`` (an over-long line is emitted, cut, as soon as it passes the cap)."""
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            piece = chunk[start:] if newline < 0 else chunk[start:newline]
            if not self._skipping:
                self._pending += piece
            if newline < 0:
                break
            if self._skipping:
                self._skipping = False
            else:
                yield self._emit(cut=False)
            start = newline + 1
        if not self._skipping and len(self._pending) > self.max_line_bytes:
            yield self._emit(cut=True)
            self._skipping = True

    def close(self) -> Iterator[LogLine]:
        """The last line when the stream did not end with a newline."""
        if self._pending and not self._skipping:
            yield self._emit(cut=False)
        self._pending.clear()
        self._skipping = False

    def _emit(self, *, cut: bool) -> LogLine:
        data = bytes(self._pending)
        self._pending.clear()
        if len(data) > self.max_line_bytes:
            data, cut = _cut_at_char(data, self.max_line_bytes), True
        if data.endswith(b"\r"):
            data = data[:-1]
        return decode_line(data, cut=cut)


def _cut_at_char(data: bytes, limit: int) -> bytes:
    """``data[:limit]`` moved back so it does not end inside a UTF-8 sequence."""
    end = limit
    for _ in range(3):  # a UTF-8 sequence has at most 3 continuation bytes
        if end == 0 or (data[end] & 0xC0) != 0x80:
            break
        end -= 1
    return data[:end] if (data[end] & 0xC0) != 0x80 else data[:limit]


def decode_line(data: bytes, *, cut: bool = False) -> LogLine:
    """Decode one line's bytes as UTF-8; invalid bytes become U+FFFD and the line is flagged."""
    try:
        return LogLine(data.decode("utf-8"), False, cut)
    except UnicodeDecodeError:
        return LogLine(data.decode("utf-8", errors="replace"), True, cut)


def read_lines(chunks: Iterable[bytes], max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> list[LogLine]:
    """All lines of a chunked byte stream (convenience for tests and small logs)."""
    reader = LogLineReader(max_line_bytes)
    lines = [line for chunk in chunks for line in reader.feed(chunk)]
    return lines + list(reader.close())


def split_timestamp(text: str) -> tuple[str, str]:
    """``("2024-01-01T00:00:00.123456789Z", "message")`` from a ``timestamps=true`` line; ``("", text)`` if none."""
    head, _, rest = text.partition(" ")
    if len(head) >= 20 and head[4:5] == "-" and head[10:11] == "T" and head[:4].isdigit():
        return head, rest
    return "", text


def parse_log_lines(lines: Iterable[LogLine], *, pod: str, container: str, previous: bool) -> pd.DataFrame:
    """Lines read with ``timestamps=true`` as :data:`POD_LOGS_SCHEMA` rows (a line without a stamp gets NaT)."""
    stamps, texts, flags = [], [], []
    for line in lines:
        stamp, text = split_timestamp(line.text)
        stamps.append(stamp or None)
        texts.append(text)
        flags.append(line.decode_error)
    stamp_col = pd.to_datetime(pd.Series(stamps, dtype=object), utc=True, errors="coerce", format="ISO8601")
    frame = pd.DataFrame({"timestamp": stamp_col.astype(UTC_TS),
                          "pod": pod, "container": container, "previous": previous, "line": texts,
                          "decode_error": flags})
    return conform(frame, POD_LOGS_SCHEMA)


def trim_to_window(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Rows with a timestamp in [start, end]; rows without one are kept (their place in time is unknown)."""
    ts = frame["timestamp"]
    keep = ts.isna() | ((ts >= start) & (ts <= end))
    return frame[keep].reset_index(drop=True)
