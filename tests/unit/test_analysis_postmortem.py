"""The postmortem: response times, every section filled, hostile text escaped."""
from __future__ import annotations

import re

import pandas as pd

from irlib.analysis.postmortem import (
    NOT_ESTABLISHED, ActionItem, PostmortemInputs, render_postmortem, response_times,
)
from irlib.analysis.severity import SeverityInputs, classify_severity
from irlib.analysis.suspects import changes_from_rollouts, rank_suspects
from irlib.analysis.text import md_escape
from irlib.analysis.timeline import marker, merge_timeline

SECTIONS = ["Summary", "Duration", "Severity", "Impact", "Timeline", "Root cause", "Resolution", "What went well",
            "What didn't go well", "Action items", "Evidence gaps"]


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-03-01T{text}Z")


def full_inputs() -> PostmortemInputs:
    history = pd.DataFrame({"kind": ["Deployment"] * 2, "name": ["checkout"] * 2, "revision": [2, 3],
                            "change_cause": ["v1.3", "v1.4 <img src=x onerror=alert(1)>"], "images": [[], []],
                            "created_at": [ts("08:00:00"), ts("11:10:00")], "current": [False, True]})
    changes = changes_from_rollouts(history, "checkout", "shop")
    timeline = merge_timeline(changes, marker(ts("11:15:00"), "onset", "onset"),
                              marker(ts("11:35:00"), "mitigation", "rolled back to revision 2"))
    return PostmortemInputs(
        incident_id="inc-42", title="Checkout errors", service="checkout",
        severity=classify_severity(SeverityInputs(peak_error_ratio=0.8)), started_at=ts("11:15:00"),
        detected_at=ts("11:18:00"), acknowledged_at=ts("11:21:00"), mitigated_at=ts("11:35:00"),
        resolved_at=ts("12:05:00"), onset_confidence=0.9, impact=["80% of checkout requests failed for 20 min", "log said <img src=x onerror=alert(1)>"],
        timeline=timeline, root_cause="release v1.4 shrank the DB pool to 2 connections",
        suspects=rank_suspects(changes, ts("11:15:00"), "120min", "checkout"),
        resolution="rolled back deployment/checkout to revision 2",
        action_items=[ActionItem("add a canary gate on error ratio", "team-checkout", "P1", "2026-03-15")])


def _section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, title
    return match.group(1).strip()


def test_response_times() -> None:
    times = response_times(full_inputs())
    assert (times.ttd_s, times.tta_s, times.ttm_s, times.ttr_s) == (180.0, 180.0, 1200.0, 3000.0)


def test_full_postmortem_has_every_section_filled() -> None:
    text = render_postmortem(full_inputs())
    for title in SECTIONS:
        assert _section(text, title), title
    established = [title for title in SECTIONS if NOT_ESTABLISHED in _section(text, title)]
    assert established == ["What didn't go well"]  # the findings recorded nothing that went badly
    assert "**Duration:** 50 min" in text and "time to detect 3 min" in text
    assert "**P0**" in _section(text, "Severity")
    assert "1. rollout deployment/checkout revision 3" in _section(text, "Root cause")
    assert "time to detect was 3 min" in _section(text, "What went well")
    assert "add a canary gate on error ratio | team-checkout | P1 | 2026-03-15" in _section(text, "Action items")
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_empty_findings_say_what_is_missing_in_every_section() -> None:
    text = render_postmortem(PostmortemInputs(incident_id="inc-7", title="Unknown", service="search",
                                              missing_evidence=["prometheus: connection refused"]))
    for title in SECTIONS:
        body = _section(text, title)
        assert body, title
    for title in ["Summary", "Severity", "Impact", "Timeline", "Resolution", "What went well"]:
        assert NOT_ESTABLISHED in _section(text, title), title
    assert "a slow burn" in _section(text, "Root cause")
    assert "Close the evidence gaps: prometheus: connection refused" in _section(text, "Action items")
    assert "prometheus: connection refused" in _section(text, "Evidence gaps")
    assert "**Duration:** _not established" in text


def test_slow_detection_goes_to_what_went_wrong() -> None:
    p = full_inputs()
    p.detected_at = ts("11:45:00")
    assert "time to detect was 30 min" in _section(render_postmortem(p), "What didn't go well")


def test_md_escape_neutralises_markup() -> None:
    hostile = "[click](http://evil) **bold** <script>x</script>\n# heading | pipe"
    out = md_escape(hostile)
    assert "<" not in out and "\n" not in out
    assert "\\[click\\]\\(http://evil\\)" in out and "\\*\\*bold\\*\\*" in out and "\\# heading \\| pipe" in out
    assert md_escape(None) == "" and md_escape(float("nan")) == ""


def test_prose_reads_cleanly_and_stays_inert() -> None:
    from irlib.analysis.postmortem import prose

    out = prose("revision 2 (kubectl set image x # cache recs; pod_usage) <script>**b** [l](u)")
    assert out == ("revision 2 (kubectl set image x # cache recs; pod_usage) &lt;script&gt;\\*\\*b\\*\\* "
                   "\\[l\\](u)")
    assert prose("# heading") == "\\# heading" and prose("1. item") == "1\\. item" and prose("- x") == "\\- x"


def test_a_gap_another_source_covered_is_no_action_item() -> None:
    covered = "kubernetes.pod_usage: no metrics-server; usage comes from Prometheus instead"
    p = full_inputs()
    p.missing_evidence = [covered, "postgres.sessions: connection refused"]
    text = render_postmortem(p)
    assert "pod_usage" not in _section(text, "Action items")
    assert "postgres.sessions" in _section(text, "Action items")
    assert "1 piece of evidence could not be collected" in _section(text, "What didn't go well")
    assert "covered by another source" in _section(text, "Evidence gaps")
    p.missing_evidence = [covered]
    text = render_postmortem(p)
    assert "every evidence gap was covered by another source" in _section(text, "What went well")
    assert "all evidence sources answered" not in text
