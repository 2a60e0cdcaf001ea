"""The analysis functions chained on one synthetic incident shaped like the demo: a bad rollout at 11:10 makes
errors and latency jump at 11:12 and leaks memory towards an OOM.  The answers must match the known truth."""
from __future__ import annotations

import numpy as np
import pandas as pd

from irlib.analysis.capacity import time_to_exhaustion
from irlib.analysis.fix import mitigation_options
from irlib.analysis.onset import combine_onsets
from irlib.analysis.postmortem import ActionItem, PostmortemInputs, render_postmortem
from irlib.analysis.severity import SeverityInputs, classify_severity
from irlib.analysis.suspects import changes_from_events, changes_from_rollouts, rank_suspects
from irlib.analysis.timeline import marker, merge_timeline

IDX = pd.date_range("2026-03-01T10:00:00Z", "2026-03-01T12:00:00Z", freq="30s")
TRUE_ONSET = pd.Timestamp("2026-03-01T11:12:00Z")
MIB = 2.0 ** 20


def signals() -> dict[str, pd.Series]:
    rng = np.random.default_rng(42)
    bad = IDX >= TRUE_ONSET
    err = np.where(bad, 0.7, 0.005) + rng.normal(0, 0.003, len(IDX))
    p99 = np.where(bad, 2.5, 0.3) + rng.normal(0, 0.05, len(IDX))
    minutes = (IDX - TRUE_ONSET).total_seconds() / 60
    mem = 300 * MIB + np.where(bad, 4 * MIB * minutes, 0) + rng.normal(0, MIB, len(IDX))
    return {"error_ratio": pd.Series(err, index=IDX), "latency_p99": pd.Series(p99, index=IDX),
            "memory_working_set": pd.Series(mem, index=IDX)}


def changes() -> pd.DataFrame:
    history = pd.DataFrame({"kind": ["Deployment"] * 3, "name": ["checkout"] * 3, "revision": [4, 5, 6],
                            "change_cause": ["v2.0", "v2.1", "v2.2"], "images": [["c:2.0"], ["c:2.1"], ["c:2.2"]],
                            "created_at": [pd.Timestamp("2026-02-01T00:00:00Z"), pd.Timestamp("2026-02-20T00:00:00Z"),
                                           pd.Timestamp("2026-03-01T11:10:00Z")], "current": [False, False, True]})
    events = pd.DataFrame({"time": [pd.Timestamp("2026-03-01T10:20:00Z")], "type": ["Normal"],
                           "reason": ["ScalingReplicaSet"], "object_kind": ["Deployment"],
                           "object_name": ["search"], "message": ["Scaled up replica set search-1 to 3"],
                           "count": [1]})
    return pd.concat([changes_from_rollouts(history, "checkout", "shop"), changes_from_events(events, "checkout")],
                     ignore_index=True)


def test_the_chain_answers_match_the_truth() -> None:
    sig = signals()
    onset = combine_onsets(sig)
    assert onset.time is not None and abs(onset.time - TRUE_ONSET) <= pd.Timedelta("2min")
    assert set(onset.agreeing) >= {"error_ratio", "latency_p99"} and onset.confidence > 0.5

    suspects = rank_suspects(changes(), onset.time, "120min", "checkout")
    assert suspects.iloc[0]["name"] == "deployment/checkout revision 6"

    severity = classify_severity(SeverityInputs(peak_error_ratio=float(sig["error_ratio"].max()), availability=0.9))
    assert severity.level == "P0"

    oom = time_to_exhaustion(sig["memory_working_set"], 512 * MIB)
    # 300 MiB + 4 MiB/min from 11:12 reaches 512 MiB at 12:05
    assert oom.predicted_at is not None
    assert abs(oom.predicted_at - pd.Timestamp("2026-03-01T12:05:00Z")) < pd.Timedelta("3min")

    options = mitigation_options(suspects, {"memory": 0.85}, "checkout", namespace="shop")
    assert options.iloc[0]["commands"].startswith("kubectl rollout undo deployment/checkout -n shop --to-revision=5")

    timeline = merge_timeline(changes(), marker(onset.time, "onset", "onset"))
    text = render_postmortem(PostmortemInputs(
        incident_id="demo", title="Checkout errors after v2.2", service="checkout", severity=severity,
        started_at=onset.time, detected_at=onset.time + pd.Timedelta("3min"),
        acknowledged_at=onset.time + pd.Timedelta("5min"), mitigated_at=onset.time + pd.Timedelta("20min"),
        resolved_at=onset.time + pd.Timedelta("40min"), impact=["70% of requests failed"], timeline=timeline,
        root_cause="release v2.2", suspects=suspects, resolution=options.iloc[0]["title"],
        went_wrong=["the canary did not gate on error ratio"],
        action_items=[ActionItem("gate canaries on error ratio", "team-checkout", "P1")]))
    assert "not established" not in text
