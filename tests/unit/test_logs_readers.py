"""Bytes to lines: invalid UTF-8, legacy encodings, UTF-16, CRLF, ANSI, gzip; arbitrary bytes never crash."""
from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from irlib.errors import IrlibError
from irlib.logs.readers import decode_lines, iter_byte_chunks, read_lines, read_tail_bytes
from irlib.logs.records import ParseOptions, records_table

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "logs"


def test_invalid_utf8_is_replaced_and_flagged_without_losing_lines() -> None:
    raw = (FIX / "lnav" / "logfile_invalid_utf8.0").read_bytes()
    lines, _ = read_lines(FIX / "lnav" / "logfile_invalid_utf8.0")
    assert len(lines) == raw.count(b"\n")
    flags = lines.decode_error.to_pylist()
    assert flags.count(True) == 1
    bad = lines.text.to_pylist()[flags.index(True)]
    assert "\ufffd" in bad and "<node>" in bad
    assert not any(t.endswith("\r") for t in lines.text.to_pylist())


def test_crlf_is_stripped() -> None:
    lines, _ = read_lines(FIX / "lnav" / "logfile_crlf.0")
    assert lines.text.to_pylist() == ["2012-07-02 10:22:40,672:DEBUG:foo bar baz",
                                      "2014-10-08 16:56:38,344:WARN:foo bar baz"]


def test_ansi_colour_codes_are_removed() -> None:
    lines, _ = read_lines(FIX / "lnav" / "logfile_ansi.1")
    texts = lines.text.to_pylist()
    assert len(texts) == 10 and not any("\x1b" in t for t in texts)
    assert texts[0].startswith("Sep 19 09:24:04 Tims-MacBook-Air AMPDeviceDiscoveryAgent[17600]: ")


def test_legacy_encoding_with_explicit_option() -> None:
    lines, _ = read_lines(FIX / "fluent-bit" / "generic_enc_sjis.log", encoding="shift_jis")
    assert lines.text.to_pylist()[0] == "こんにちは"
    assert not any(lines.decode_error.to_pylist())
    guessed, _ = read_lines(FIX / "fluent-bit" / "generic_enc_sjis.log")
    assert all(guessed.decode_error.to_pylist())  # as UTF-8 it is flagged, never raised


def test_utf16_with_bom_both_endians() -> None:
    little, _ = read_lines(FIX / "fluent-bit" / "unicode_c.log")
    big, _ = read_lines(FIX / "fluent-bit" / "unicode_be_j.log")
    assert little.text.to_pylist()[0].startswith("用汉字在 Fluent Bit")
    assert big.text.to_pylist()[0].startswith("にほんごテストログ")
    assert not any(little.decode_error.to_pylist() + big.decode_error.to_pylist())


def test_gzip_is_read_by_magic_number(tmp_path: Path) -> None:
    src = (FIX / "lnav" / "logfile_syslog.0").read_bytes()
    target = tmp_path / "syslog.log"  # no .gz suffix on purpose
    target.write_bytes(gzip.compress(src))
    lines, truncated = read_lines(target)
    assert len(lines) == src.count(b"\n") and not truncated


def test_last_line_without_newline_is_kept() -> None:
    lines = decode_lines(b"a\nb\nc")
    assert lines.text.to_pylist() == ["a", "b", "c"]
    assert lines.line_no.to_pylist() == [1, 2, 3]


def test_chunks_end_at_newlines_and_cover_everything(tmp_path: Path) -> None:
    data = b"".join(f"line {i} {'x' * (i % 50)}\n".encode() for i in range(2000))
    path = tmp_path / "big.log"
    path.write_bytes(data)
    chunks = list(iter_byte_chunks(path, chunk_bytes=1000))
    assert b"".join(chunks) == data and all(c.endswith(b"\n") for c in chunks)


def test_tail_read_keeps_latest_lines_and_counts_skipped(tmp_path: Path) -> None:
    path = tmp_path / "t.log"
    path.write_bytes(b"".join(f"{i:05d}\n".encode() for i in range(1000)))
    data, skipped, cut = read_tail_bytes(path, max_bytes=600)
    assert cut and data.startswith(f"{skipped:05d}\n".encode()) and data.endswith(b"00999\n")
    assert len(data) <= 600


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600), st.sampled_from([None, "cp1252", "utf-16-le", "latin-1"]),
       st.sampled_from([None, "json", "logfmt", "generic", "syslog", "access", "docker", "plain", "glog"]))
def test_arbitrary_bytes_never_crash_a_reader(data: bytes, encoding: str | None, fmt: str | None) -> None:
    try:
        lines = decode_lines(data, encoding=encoding)
        table = records_table(lines, "fuzz", ParseOptions(fmt=fmt))
    except IrlibError:
        return
    assert table.num_rows <= max(len(lines), 1) * 4 + 1
    assert table.column("message").null_count == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=30))
def test_every_line_lands_in_a_record(texts: list[str]) -> None:
    clean = [t.replace("\n", " ").replace("\r", " ") for t in texts]
    lines = decode_lines("\n".join(clean).encode("utf-8", "surrogatepass") if clean else b"")
    table = records_table(lines, "x", ParseOptions(fmt="plain"))
    joined = "\n".join(m for m in table.column("message").to_pylist())
    assert sum(len(t) for t in lines.text.to_pylist()) <= len(joined) + 1 or not clean
    assert isinstance(table.column("timestamp").type, pa.TimestampType)


def test_large_inputs_take_the_fast_path_with_the_same_lines() -> None:
    body = b"".join(f"2024-01-01 00:00:{i % 60:02d} INFO x: line {i}\r\n".encode() for i in range(60_000))
    lines = decode_lines(body)
    assert lines.text.to_pylist() == body.decode().replace("\r\n", "\n").split("\n")[:-1]
    broken = body[:100_000] + b"caf\xe9\n" + body[100_000:]
    with_error = decode_lines(broken)
    assert len(with_error) == 60_001 and with_error.decode_error.to_pylist().count(True) == 1
    lone_cr = b"a\rb\n" * 300_000
    assert decode_lines(lone_cr).text.to_pylist()[:2] == ["a\rb", "a\rb"]


def test_large_crlf_input_with_colour_codes_loses_both() -> None:
    body = b"".join(f"\x1b[32mINFO\x1b[0m line {i}\r\n".encode() for i in range(80_000))
    assert len(body) > 1 << 20  # the CSV fast path
    lines = decode_lines(body).text.to_pylist()
    assert lines[:2] == ["INFO line 0", "INFO line 1"] and len(lines) == 80_000
    assert not any("\r" in s or "\x1b" in s for s in lines)
