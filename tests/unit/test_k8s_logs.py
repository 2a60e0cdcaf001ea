"""Untrusted log bytes: invalid UTF-8, characters split across chunks, enormous lines, CRLF, timestamps."""
from __future__ import annotations

import pandas as pd

from irlib.frames import check
from irlib.sources.k8s_logs import (POD_LOGS_SCHEMA, LogLineReader, parse_log_lines, read_lines, split_timestamp,
                                    trim_to_window)


def test_latin1_byte_among_utf8_lines_keeps_every_line_and_flags_it() -> None:
    data = "grüße ok\n".encode() + b"caf\xe9 au lait\n" + "naïve ok\n".encode()
    lines = read_lines([data])
    assert [line.text for line in lines] == ["grüße ok", "caf\ufffd au lait", "naïve ok"]
    assert [line.decode_error for line in lines] == [False, True, False]


def test_utf8_character_split_across_chunks_comes_out_whole() -> None:
    data = "a€b\n→ next\n".encode()
    cut = data.index("€".encode()) + 1  # inside the three-byte euro sign
    arrow = data.index("→".encode()) + 2
    lines = read_lines([data[:cut], data[cut:arrow], data[arrow:]])
    assert [line.text for line in lines] == ["a€b", "→ next"]
    assert not any(line.decode_error for line in lines)
    one_byte_chunks = read_lines([bytes([b]) for b in data])
    assert [line.text for line in one_byte_chunks] == ["a€b", "→ next"]


def test_enormous_line_is_cut_not_fatal_and_the_next_line_survives() -> None:
    huge = b"x" * 1_000_000
    reader = LogLineReader(max_line_bytes=1000)
    lines = []
    for start in range(0, len(huge), 4096):
        lines.extend(reader.feed(huge[start:start + 4096]))
    lines.extend(reader.feed(b"\nafter\n"))
    lines.extend(reader.close())
    assert len(lines) == 2 and lines[0].cut and len(lines[0].text) == 1000
    assert lines[1].text == "after" and not lines[1].cut


def test_cut_never_splits_a_character() -> None:
    reader = LogLineReader(max_line_bytes=10)
    lines = list(reader.feed(("aaaaaaaaa" + "€" * 5 + "\n").encode()))
    assert lines[0].text == "aaaaaaaaa" and lines[0].cut and not lines[0].decode_error


def test_crlf_and_missing_final_newline() -> None:
    lines = read_lines([b"one\r\ntwo\r\nthree"])
    assert [line.text for line in lines] == ["one", "two", "three"]


def test_timestamps_are_split_and_parsed_and_trimmed() -> None:
    lines = read_lines([b"2021-11-15T09:21:29.542014685Z level=info msg=start\n"
                        b"2021-11-15T09:25:00Z level=warn msg=later\n"
                        b"no stamp here\n"])
    frame = parse_log_lines(lines, pod="p", container="c", previous=True)
    check(frame, POD_LOGS_SCHEMA)
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2021-11-15T09:21:29.542014685Z")
    assert list(frame["line"]) == ["level=info msg=start", "level=warn msg=later", "no stamp here"]
    assert frame["previous"].all() and pd.isna(frame["timestamp"].iloc[2])
    trimmed = trim_to_window(frame, pd.Timestamp("2021-11-15T09:22:00Z"), pd.Timestamp("2021-11-15T09:30:00Z"))
    assert list(trimmed["line"]) == ["level=warn msg=later", "no stamp here"]


def test_split_timestamp_leaves_plain_text_alone() -> None:
    assert split_timestamp("hello world") == ("", "hello world")
    assert split_timestamp("2024-01-01T00:00:00Z ") == ("2024-01-01T00:00:00Z", "")
