"""Bytes to lines: files (plain or gzip), stdin, raw bytes, in one piece or in chunks; no line is ever lost.

Every reader returns a :class:`Lines` table: ``line_no`` (1-based), ``text`` (decoded, ``\\r`` and ANSI colour codes
removed) and ``decode_error`` (the line's bytes were not valid in the encoding and were decoded with U+FFFD).

Encodings: a UTF-16 or UTF-8 byte-order mark wins; UTF-16 without a BOM is recognised by its NUL bytes; otherwise
UTF-8, or the ``encoding`` given (``cp1252``, ``gbk``, ``shift_jis`` ...).  Undecodable bytes never raise.
"""
from __future__ import annotations

import codecs
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv

from ..errors import IrlibError

ANSI_PATTERN = r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]"
DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024


class LogReadError(IrlibError):
    """A log file cannot be opened or decompressed; the message names the file and what to do."""


@dataclass(frozen=True)
class Lines:
    """Decoded lines: ``line_no`` (int64, 1-based), ``text`` (large_string), ``decode_error`` (bool)."""

    line_no: pa.Array
    text: pa.Array
    decode_error: pa.Array

    def __len__(self) -> int:
        return len(self.text)


def detect_encoding(data: bytes, encoding: str | None = None) -> tuple[str, int]:
    """The encoding to use and the length of the byte-order mark to skip."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    if encoding:
        return encoding, 0
    head = data[:4096]
    if len(head) >= 4 and head.count(0) * 3 >= len(head):
        even_nuls = head[0::2].count(0)
        odd_nuls = head[1::2].count(0)
        return ("utf-16-be", 0) if even_nuls > odd_nuls else ("utf-16-le", 0)
    return "utf-8", 0


_CONTROL_BYTES = np.array([b < 32 and b not in (9, 10, 11, 12, 13, 27) or b == 127 for b in range(256)])


def looks_binary(data: bytes, encoding: str | None = None) -> bool:
    """Whether the start of ``data`` looks like a binary file rather than text: NUL bytes in what would be read as
    UTF-8 or a one-byte encoding, more than 10% control bytes, or (read as UTF-16 without a BOM) NUL bytes on both
    sides of the byte pairs, where UTF-16 text has them on one side.  A byte-order mark means text."""
    head = data[:8192]
    enc, bom = detect_encoding(head, encoding)
    if not head or bom or (encoding is not None and enc.lower().replace("_", "-").startswith(("utf-16", "utf-32"))):
        return False
    raw = np.frombuffer(head, np.uint8)
    if enc.startswith("utf-16"):
        even, odd = int((raw[0::2] == 0).sum()), int((raw[1::2] == 0).sum())
        return min(even, odd) > 0.1 * max(even, odd)
    return bool((raw == 0).any()) or float(_CONTROL_BYTES[raw].mean()) > 0.1


def decode_lines(data: bytes, *, encoding: str | None = None, first_line_no: int = 1) -> Lines:
    """Split ``data`` into decoded lines (see the module doc); a final line without a newline is kept."""
    enc, bom = detect_encoding(data, encoding)
    try:
        codecs.lookup(enc)
    except LookupError as exc:
        raise LogReadError(f"unknown encoding {enc!r}; use a Python codec name such as utf-8, cp1252 or gbk") from exc
    body = data[bom:] if bom else data
    raw = body if enc in ("utf-8", "ascii") or enc.startswith("utf-8") else None
    split_by_csv = False
    try:
        lines = _split_fast(body) if enc == "utf-8" else None
        split_by_csv = lines is not None
        if lines is None:
            lines = _split_text(body.decode(enc))
        flags = pc.is_null(lines)
    except UnicodeDecodeError:
        lines, flags = _decode_line_by_line(body, enc)
    # the CSV reader (used only when every "\r" is part of "\r\n") ended its lines there: no "\r" is left
    lines = _clean(lines, raw, carriage_returns=not split_by_csv)
    numbers = pa.array(np.arange(first_line_no, first_line_no + len(lines), dtype=np.int64))
    return Lines(line_no=numbers, text=lines, decode_error=flags)


def _split_fast(body: bytes) -> pa.Array | None:
    """UTF-8 split into lines by Arrow's multi-threaded CSV reader, one column, no quoting (it checks the UTF-8).

    Only used when every ``\r`` is part of ``\r\n`` (the reader would end a line at a lone one) and there is no
    ``\x1f`` (the column delimiter); None otherwise, and the caller splits in Python.
    """
    if len(body) < (1 << 20) or b"\x1f" in body:
        return None
    if b"\r" in body and _has_lone_carriage_return(body):  # ``in`` is a memchr: most logs stop there
        return None
    if not body.endswith(b"\n"):
        body += b"\n"
    try:
        table = _read_one_column(body)
    except pa.ArrowInvalid:  # invalid UTF-8: the caller decodes line by line
        return None
    return table.column("line").combine_chunks()


def _has_lone_carriage_return(body: bytes) -> bool:
    """Whether some ``\r`` is not followed by ``\n`` (vectorised: ``bytes.count`` of a pair is several times
    slower)."""
    raw = np.frombuffer(body, np.uint8)
    at = np.flatnonzero(raw == 13) + 1
    return bool(len(at)) and (at[-1] >= len(raw) or bool((raw[at] != 10).any()))


def _read_one_column(body: bytes) -> pa.Table:
    return pa_csv.read_csv(
        io.BytesIO(body),
        read_options=pa_csv.ReadOptions(column_names=["line"], block_size=1 << 21),
        parse_options=pa_csv.ParseOptions(delimiter="\x1f", quote_char=False, escape_char=False,
                                          double_quote=False, newlines_in_values=False, ignore_empty_lines=False),
        convert_options=pa_csv.ConvertOptions(column_types={"line": pa.large_string()}, strings_can_be_null=False,
                                              quoted_strings_can_be_null=False))


def _split_text(text: str) -> pa.Array:
    if text.endswith("\n"):
        text = text[:-1]
    if not text:
        return pa.array([], pa.large_string())
    return pa.array(text.split("\n"), pa.large_string())


def _decode_line_by_line(body: bytes, enc: str) -> tuple[pa.Array, pa.Array]:
    newline = "\n".encode(enc)
    if enc.startswith("utf-16"):
        text = body.decode(enc, errors="replace")
        lines = _split_text(text)
        return lines, pc.match_substring(lines, "\ufffd")
    raw = body.split(newline)
    if raw and raw[-1] == b"":
        raw.pop()
    texts: list[str] = []
    flags: list[bool] = []
    for chunk in raw:
        try:
            texts.append(chunk.decode(enc))
            flags.append(False)
        except UnicodeDecodeError:
            texts.append(chunk.decode(enc, errors="replace"))
            flags.append(True)
    return pa.array(texts, pa.large_string()), pa.array(flags, pa.bool_())


def _clean(lines: pa.Array, raw: bytes | None = None, *, carriage_returns: bool = True) -> pa.Array:
    """Lines without trailing ``\r`` and ANSI escapes (``raw``: the bytes, to skip the checks cheaply;
    ``carriage_returns`` false: the lines are known to hold none)."""
    if len(lines) == 0:
        return lines
    if carriage_returns and ((b"\r" in raw) if raw is not None else pc.any(pc.ends_with(lines, "\r")).as_py()):
        lines = pc.utf8_rtrim(lines, characters="\r")
    if (b"\x1b" in raw) if raw is not None else pc.any(pc.match_substring(lines, "\x1b")).as_py():
        lines = pc.replace_substring_regex(lines, pattern=ANSI_PATTERN, replacement="")
    return lines


def _opener(p: Path) -> Any:
    """``gzip.open`` or ``open`` by the file's magic number; refuses what is not a regular file (a FIFO or a device
    would block or never end; a directory cannot be read)."""
    if p.exists() and not p.is_file():
        raise LogReadError(f"{p} is not a regular file (a directory, FIFO or device); give the path of a log file")
    with p.open("rb") as fh:
        magic = fh.read(2)
    return gzip.open if magic == b"\x1f\x8b" else open


def read_bytes(path: str | Path, *, max_bytes: int | None = None) -> tuple[bytes, bool]:
    """The file's bytes, gunzipped when it is gzip (by magic number), and whether ``max_bytes`` cut it short."""
    p = Path(path)
    try:
        opener = _opener(p)
        with opener(p, "rb") as fh:  # type: ignore[operator]
            data = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise LogReadError(f"cannot read log file {p}: {exc}; check the path and that the file is readable "
                           "(gzip files must be complete)") from exc
    truncated = max_bytes is not None and len(data) > max_bytes
    if truncated:
        data = _cut_at_newline(data[:max_bytes])
    return data, truncated


def _cut_at_newline(data: bytes) -> bytes:
    end = data.rfind(b"\n")
    return data[: end + 1] if end >= 0 else data


def read_lines(path: str | Path, *, encoding: str | None = None, max_bytes: int | None = None) -> tuple[Lines, bool]:
    """Decoded lines of a file (plain or gzip) and whether ``max_bytes`` cut it short."""
    data, truncated = read_bytes(path, max_bytes=max_bytes)
    return decode_lines(data, encoding=encoding), truncated


def iter_stream_chunks(stream: io.BufferedIOBase, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
                       name: str = "standard input") -> Iterator[bytes]:
    """The bytes of an open binary stream (e.g. ``sys.stdin.buffer``) in newline-ended pieces of about
    ``chunk_bytes``, gunzipped when they start with the gzip magic number; read as they arrive, never all at once."""
    source: Any = stream
    head = stream.peek(2)[:2] if hasattr(stream, "peek") else b""
    if head == b"\x1f\x8b":
        source = gzip.GzipFile(fileobj=stream, mode="rb")
    try:
        yield from _newline_chunks(source, chunk_bytes)
    except (OSError, EOFError, zlib.error) as exc:
        raise LogReadError(f"cannot read {name}: {exc}; gzip input must be complete") from exc


def iter_byte_chunks(path: str | Path, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[bytes]:
    """The file's bytes in pieces of about ``chunk_bytes`` that always end at a newline (gzip is decompressed)."""
    p = Path(path)
    try:
        opener = _opener(p)
        with opener(p, "rb") as fh:  # type: ignore[operator]
            yield from _newline_chunks(fh, chunk_bytes)
    except (OSError, EOFError, zlib.error) as exc:
        raise LogReadError(f"cannot read log file {p}: {exc}; check the path and that the file is readable") from exc


def _newline_chunks(fh: io.BufferedIOBase, chunk_bytes: int) -> Iterator[bytes]:
    rest = b""
    while True:
        block = fh.read(chunk_bytes)
        if not block:
            if rest:
                yield rest
            return
        block = rest + block
        end = block.rfind(b"\n")
        if end < 0:
            rest = block
            continue
        rest = block[end + 1:]
        yield block[: end + 1]


def read_tail_bytes(path: str | Path, *, max_bytes: int) -> tuple[bytes, int, bool]:
    """The last ``max_bytes`` of a file (plain or gzip), starting at a line start.

    Returns (bytes, number of lines skipped before them, whether anything was skipped).  Logs grow at the end, so
    a cap keeps the latest lines; the skipped lines are counted so line numbers stay true.
    """
    skipped_lines = 0
    skipped = False
    kept = bytearray()
    for block in iter_byte_chunks(path, chunk_bytes=min(max_bytes, DEFAULT_CHUNK_BYTES) or 1):
        kept += block
        if len(kept) > max_bytes:
            cut = len(kept) - max_bytes
            newline = kept.find(b"\n", cut - 1) if cut > 0 else -1
            cut = newline + 1 if newline >= 0 else len(kept)
            skipped_lines += kept.count(b"\n", 0, cut)
            del kept[:cut]
            skipped = True
    return bytes(kept), skipped_lines, skipped
