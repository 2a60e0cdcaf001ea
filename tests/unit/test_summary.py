"""The index page's summary: each finding in words, including when it was not established."""
from __future__ import annotations

from typing import Any

from irlib.findings import Finding
from irlib.summary import onset_text, summary_html


def _findings(**values: Any) -> dict[str, Finding]:
    return {name: Finding(name, value, "01", "2026-03-01T11:30:00+00:00") for name, value in values.items()}


NO_ONSET = {"time": None, "confidence": 0.0, "signals": [], "per_signal": {},
            "explanation": "no signal changed significantly"}


def test_no_onset_says_none_was_established_why_and_what_to_do() -> None:
    text = onset_text(NO_ONSET)
    assert text.startswith("no onset established: no signal changed significantly (confidence 0)")
    assert "widen the incident window" in text
    assert "None" not in text and "0.0" not in text


def test_an_onset_reads_as_a_utc_time_with_its_confidence_and_signals() -> None:
    onset = {"time": "2026-12-03T17:13:16.865000+00:00", "confidence": 0.456,
             "signals": ["error_ratio", "memory_working_set"], "explanation": "2 of 4 signals changed"}
    assert onset_text(onset) == ("2026-12-03 17:13:16 UTC (confidence 0.46; signals: error_ratio, "
                                 "memory_working_set)")


def test_summary_onset_row_explains_a_missing_onset() -> None:
    html = summary_html(_findings(onset=NO_ONSET))
    assert "<th>Onset</th><td>no onset established: no signal changed significantly (confidence 0)" in html
    assert "None" not in html


def test_summary_onset_row_when_step_01_did_not_record_it() -> None:
    assert "<th>Onset</th><td>not established (the step that finds it" in summary_html({})


def test_summary_top_suspect_is_its_reason_once_without_a_rank_prefix() -> None:
    suspect = {"rank": 1, "name": "deployment/orders revision 2",
               "reason": "rollout deployment/orders revision 2 came 38 s before the onset, touches orders; "
                         "rollouts are the most common cause"}
    html = summary_html(_findings(suspects=[suspect]))
    assert ("<th>Top suspect</th><td>rollout deployment/orders revision 2 came 38 s before the onset, touches "
            "orders; rollouts are the most common cause</td>") in html
