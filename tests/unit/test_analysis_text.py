"""Markdown escaping and formatting helpers."""
from __future__ import annotations

import pytest

from irlib.analysis.text import counted, fmt_duration, md_escape, md_table


@pytest.mark.parametrize(("seconds", "text"), [(None, "unknown"), (float("nan"), "unknown"), (12, "12 s"),
                                               (240, "4 min"), (270, "4 min 30 s"), (3900, "1 h 05 min"),
                                               (-90, "-1 min 30 s")])
def test_fmt_duration(seconds: float | None, text: str) -> None:
    assert fmt_duration(seconds) == text


def test_md_escape_entities_and_syntax() -> None:
    assert md_escape('a & b "c"') == "a &amp; b &quot;c&quot;"
    assert md_escape("![img](x) `code` ~~s~~ _e_") == "\\!\\[img\\]\\(x\\) \\`code\\` \\~\\~s\\~\\~ \\_e\\_"
    assert md_escape(42) == "42"


def test_md_table_escapes_cells_and_keeps_rows() -> None:
    table = md_table([["a|b", "<x>"], ["line\nbreak", None]], ["one", "two"])
    assert table.splitlines() == ["| one | two |", "|---|---|", "| a\\|b | &lt;x&gt; |", "| line break |  |"]


def test_readable_times_rewrites_iso_utc_timestamps_in_sentences() -> None:
    from irlib.analysis.text import readable_times

    text = "2 of the 4 signals changed within 2 min of 2026-12-03T17:13:16.865000+00:00: error_ratio"
    assert readable_times(text) == "2 of the 4 signals changed within 2 min of 2026-12-03 17:13:16 UTC: error_ratio"
    assert readable_times("at 2026-12-03T17:13:16Z and 2026-12-03T17:14:00+00:00") == (
        "at 2026-12-03 17:13:16 UTC and 2026-12-03 17:14:00 UTC")
    assert readable_times("version 2026-12-03 build") == "version 2026-12-03 build"


def test_counted_agrees_in_number_and_groups_thousands() -> None:
    assert [counted(n, "restart") for n in (0, 1, 2)] == ["0 restarts", "1 restart", "2 restarts"]
    assert counted(1210, "file") == "1,210 files" and counted(1, "child", "children") == "1 child"
    assert counted(3, "child", "children") == "3 children"
