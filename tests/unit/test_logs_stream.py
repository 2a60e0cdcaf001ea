"""Streaming analysis: small chunks give the same totals as reading the whole file, multi-line records intact."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from irlib.logs import analysis as A
from irlib.logs.readers import read_lines
from irlib.logs.records import ParseOptions, records_table, to_frame
from irlib.logs.stream import analyse_file

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
REF = pd.Timestamp("2025-11-05T00:00:00Z")


def whole(path: Path) -> pd.DataFrame:
    lines, _ = read_lines(path)
    return to_frame(records_table(lines, "x", ParseOptions(reference=REF)))


def test_small_chunks_match_whole_file_records_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "py.log"
    path.write_bytes((FIX / "lnav" / "log2src_python-example.0").read_bytes() * 40)
    summary = analyse_file(path, reference=REF, chunk_bytes=300)  # chunks far smaller than one record
    records = whole(path)
    assert summary.records == len(records) == 200 and summary.lines == 480
    assert summary.levels == records["level"].value_counts().to_dict()
    errors = summary.error_classes()
    assert errors[["error_class", "count"]].values.tolist() == [["ZeroDivisionError", 40]]
    assert errors.iloc[0]["example"].count("\n") >= 3  # the whole traceback, never cut at a chunk edge


def test_streamed_templates_equal_in_memory_templates(tmp_path: Path) -> None:
    path = tmp_path / "hadoop.log"
    path.write_bytes((FIX / "loghub" / "Hadoop_head100.log").read_bytes() * 5)
    summary = analyse_file(path, reference=REF, chunk_bytes=2000)
    streamed = summary.templates().set_index("template_id")["count"].to_dict()
    in_memory = A.templates(whole(path)).set_index("template_id")["count"].to_dict()
    assert sum(streamed.values()) == 500 and streamed == in_memory
    assert summary.format == "generic" and summary.unparsed_times == 0


def _totals(summary: object) -> tuple[object, ...]:
    s = summary
    return (s.records, s.lines, s.unparsed_times, s.format, s.levels,  # type: ignore[attr-defined]
            {k: (t.count, t.first, t.last, t.example) for k, t in s.shape_tallies.items()},  # type: ignore[attr-defined]
            {k: (t.count, t.first, t.last, t.example) for k, t in s.error_tallies.items()})  # type: ignore[attr-defined]


def test_two_threads_give_the_totals_of_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk cut in two at a record start for two threads adds up to exactly what one thread finds (Python
    tracebacks, so a cut inside a record would show)."""
    from irlib.logs import stream

    path = tmp_path / "py.log"
    sample = (FIX / "lnav" / "log2src_python-example.0").read_bytes()
    path.write_bytes(sample * (5_000_000 // len(sample) + 1))
    calls: list[int] = []
    real = stream._pieces
    monkeypatch.setattr(stream, "_pieces", lambda *a: calls.append(len((out := real(*a))[0])) or out)
    monkeypatch.setattr(stream, "worker_count", lambda: 2)
    split = analyse_file(path, reference=REF, chunk_bytes=1 << 30)
    assert calls == [2]
    monkeypatch.setattr(stream, "SPLIT_MIN_BYTES", 1 << 40)
    single = analyse_file(path, reference=REF, chunk_bytes=1 << 30)
    assert calls == [2, 1]
    assert _totals(split) == _totals(single)
    assert split.records < split.lines  # multi-line records were joined


def test_utf16_little_endian_across_chunks_keeps_every_line(tmp_path: Path) -> None:
    """Chunks end at a b"\\n" byte, which in UTF-16LE is followed by its \\x00: the stream is decoded
    incrementally, so no chunk edge splits a character and no phantom line appears."""
    text = "".join(f"2026-01-01T10:00:{i % 60:02d}Z {'ERROR' if i % 3 == 0 else 'INFO'} line {i}\n"
                   for i in range(3000))
    path = tmp_path / "win.log"
    path.write_bytes("\ufeff".encode("utf-16-le") + text.encode("utf-16-le"))
    summary = analyse_file(path, reference=REF, chunk_bytes=5000)
    assert summary.records == summary.lines == 3000
    assert summary.levels == {"ERROR": 1000, "INFO": 2000} and summary.unparsed_times == 0


def test_undecodable_lines_are_counted_once_over_small_chunks(tmp_path: Path) -> None:
    path = tmp_path / "mixed.log"
    block = (b"2026-12-04 10:00:00,001 ERROR app: caf\xe9 failed\n"
             b"Traceback (most recent call last):\n  File \"a.py\", line 1, in f\n"
             b"ValueError: na\xefve\n2026-12-04 10:00:01,002 INFO app: ok\n")
    path.write_bytes(block * 50)
    for chunk in (1 << 20, 64, 200):
        summary = analyse_file(path, reference=REF, chunk_bytes=chunk)
        assert summary.lines == 250 and summary.undecodable_lines == 100, chunk
        assert not summary.looks_binary
