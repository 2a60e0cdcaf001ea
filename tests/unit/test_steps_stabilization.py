"""Step 08's table: bands and shares as people read them."""
from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from irlib.analysis.recovery import MetricRecovery
from irlib.steps.stabilization import recovery_rows


def test_recovery_rows_are_readable() -> None:
    rows = recovery_rows([MetricRecovery("error_ratio", -1e-12, 1e-12, 0.1861, 0.1919, False, "d", "ratio"),
                          MetricRecovery("latency_p99", None, None, None, None, None, "not enough data")])
    assert rows.iloc[0].to_dict() == {"signal": "error_ratio", "pre-incident band": "0%",
                                      "recent median": "18.6%", "inside the band": "19%", "recovered": "no",
                                      "detail": "d"}
    assert rows.iloc[1]["recovered"] == "not measured" and rows.iloc[1]["pre-incident band"] == "—"


def test_recovery_rows_show_units() -> None:
    rows = recovery_rows([MetricRecovery("latency_p99", 0.02304, 0.02609, 0.02461, 0.47, False, "d", "seconds"),
                          MetricRecovery("memory_working_set", 0.0, 100663296.0, 47185920.0, 1.0, True, "d",
                                         "bytes")])
    assert rows.iloc[0]["pre-incident band"] == "[23.0 ms, 26.1 ms]" and rows.iloc[0]["recent median"] == "24.6 ms"
    assert rows.iloc[1]["pre-incident band"] == "[0.0 MiB, 96.0 MiB]" and rows.iloc[1]["recent median"] == "45.0 MiB"


def test_status_update_carries_step_01s_impact(monkeypatch: pytest.MonkeyPatch) -> None:
    from irlib.analysis.severity import classify_severity, SeverityInputs
    from irlib.steps import facts, stabilization

    sev = classify_severity(SeverityInputs(peak_error_ratio=1.0))
    found = {"severity": sev.__dict__, "impact": {"affected_fraction": 0.293}}
    incident = SimpleNamespace(id="INC-1", title="t", window=SimpleNamespace(end=pd.Timestamp("2026-12-03T17:21Z")),
                               service={"name": "orders"}, raw={})
    inv = SimpleNamespace(finding=found.get, incident=incident)
    monkeypatch.setattr(facts, "onset_time", lambda _inv: None)
    text = stabilization.status_update(inv).markdown  # type: ignore[arg-type]
    assert "**Impact:** 29.3% of requests failing since the onset" in text and "see step 01" not in text


def test_impact_text_without_a_finding_says_so() -> None:
    from irlib.steps import common

    assert common.impact_text(None) == "not assessed yet (step 01 recorded no impact)"
    assert common.impact_text({"affected_fraction": None}) == "not measured yet (no request metrics)"


def test_pod_and_check_sentences_agree_in_number() -> None:
    from irlib.steps import stabilization

    assert stabilization.pods_ready_text(1, 1, 1) == "1 of 1 pods ready; 1 restart in total"
    assert stabilization.pods_ready_text(1, 2, 5) == "1 of 2 pods ready; 5 restarts in total"
    assert stabilization.check_result_text(1, 0) == "1 row; value 0"
    assert stabilization.check_result_text(3, 2) == "3 rows; value 2"


def test_pods_table_writes_readiness_as_yes_no() -> None:
    from irlib.steps import stabilization

    per_pod = pd.DataFrame({"pod": ["a", "b"], "ready": pd.array([True, None], dtype="boolean"), "restarts": [5, 0],
                            "waiting": ["", None]})
    table = stabilization.pods_table(per_pod)
    assert table["ready"].tolist() == ["yes", "unknown"] and table["waiting"].tolist() == ["", ""]


def test_checks_verdict_agrees_in_number_and_names_failures() -> None:
    from irlib.steps import stabilization

    assert stabilization.checks_verdict(1, [], []) == "1 of 1 check passes"
    assert stabilization.checks_verdict(3, ["ledger"], ["dupes"]) == (
        "1 of 3 checks pass; failing: ledger; could not run: dupes")
