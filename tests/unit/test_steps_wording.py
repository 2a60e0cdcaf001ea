"""How the step glue words its findings: no "None", no "n/a of", no ambiguous counts, no repeated words."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from irlib.analysis.security import SecurityVerdict
from irlib.steps import assessment, common, deep_debugging, facts, security


def _broken(**over: Any) -> dict[str, Any]:
    return {"pods_total": 1, "pods_not_ready": 0, "restarts": 5, "oom_killed": 1, "crash_looping": 0,
            "error_ratio_peak": 1.0, "error_ratio_now": 0.5, "latency_p99_peak_s": 0.05, "alerts": [], **over}


def test_broken_summary_counts_ready_pods_out_of_all() -> None:
    assert assessment._broken_summary(_broken(), "orders") == (
        "orders: 1 of 1 pods ready, 5 restarts, last terminated by OOMKilled (exit 137); error ratio peak 100.0%")
    text = assessment._broken_summary(_broken(pods_total=0, error_ratio_peak=None), "orders")
    assert text == ("orders: no pod found, 5 restarts, last terminated by OOMKilled (exit 137); "
                    "error ratio not measured")
    assert "/" not in text and "n/a" not in text


def test_impact_summary_says_why_the_failed_share_is_unknown() -> None:
    unknown = assessment.impact_summary({"affected_fraction": None}, "prometheus is down")
    assert unknown == "share of failed requests unknown: prometheus is down"
    assert assessment.impact_summary({"affected_fraction": 0.293}, "") == "29.3% of requests failed since the onset"


def test_security_verdict_summary_says_what_no_means_and_lists_signs() -> None:
    assert security.verdict_summary(SecurityVerdict("no", ["x"], [])) == (
        "no sign of a security incident in the evidence examined")
    assert security.verdict_summary(SecurityVerdict("no", ["x"], ["access-log status codes"])) == (
        "no sign of a security incident in the evidence examined (not examined: access-log status codes)")
    assert security.verdict_summary(SecurityVerdict("suspected", ["3 unusual client(s)"], [])) == (
        "security incident suspected: 3 unusual client(s)")


def test_stack_text_does_not_repeat_the_exception() -> None:
    text = deep_debugging.stack_text("ConnectionResetError", "ConnectionResetError @ socket.py:readinto < a.py:f")
    assert text == "ConnectionResetError at socket.py:readinto < a.py:f"
    assert deep_debugging.stack_text("E", "E @ ") == "E (no stack frames)"


def test_counted_agrees_in_number() -> None:
    assert common.counted(1, "distinct stack-trace signature") == "1 distinct stack-trace signature"
    assert common.counted(2, "error class", "error classes") == "2 error classes"
    assert common.counted(0, "credential") == "0 credentials"


def test_booleans_in_step_tables_read_yes_no() -> None:
    assert [common.fmt_bool(v) for v in (True, False, None, pd.NA)] == ["yes", "no", "unknown", "unknown"]
    pods = pd.DataFrame({"pod": ["a", "b"], "ready": pd.array([True, False], dtype="boolean")})
    assert assessment.pods_for_display(pods)["ready"].tolist() == ["yes", "no"]


def test_no_onset_is_recorded_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded: dict[str, str] = {}
    inv = SimpleNamespace(step="01", finding=lambda name: None,
                          incident=SimpleNamespace(window=SimpleNamespace(duration=pd.Timedelta(minutes=30))),
                          record=lambda name, value, summary="": recorded.update({name: summary}))
    monkeypatch.setattr(facts, "onset_signals", lambda _inv: {})
    value = facts._onset(inv)  # type: ignore[arg-type]
    assert value["time"] is None
    assert recorded["onset"].startswith("no onset established: ")
    assert "None" not in recorded["onset"] and "0.0" not in recorded["onset"]


def test_evidence_used_writes_truncated_as_yes_no_like_the_index() -> None:
    def fetch(truncated: bool) -> SimpleNamespace:
        return SimpleNamespace(id=f"f{truncated}", source="prometheus", method="signal", status="ok", rows=3,
                               truncated=truncated, reason="", notes=["capped at 3 rows"], sha256="0" * 64)

    ans = common.evidence_used(SimpleNamespace(used=[fetch(False), fetch(True)]))  # type: ignore[arg-type]
    assert ans.tables[0].frame["truncated"].tolist() == ["no", "yes"]
    assert sum("hit a cap" in sentence for sentence in ans.text) == 1  # only the truncated fetch is flagged
