"""Step 08's table: bands and shares as people read them."""
from __future__ import annotations

from irlib.analysis.recovery import MetricRecovery
from irlib.steps.stabilization import recovery_rows


def test_recovery_rows_are_readable() -> None:
    rows = recovery_rows([MetricRecovery("error_ratio", -1e-12, 1e-12, 0.1861, 0.1919, False, "d"),
                          MetricRecovery("latency_p99", None, None, None, None, None, "not enough data")])
    assert rows.iloc[0].to_dict() == {"signal": "error_ratio", "pre-incident band": "[0, 0]",
                                      "recent median": "0.1861", "inside the band": "19%", "recovered": "no",
                                      "detail": "d"}
    assert rows.iloc[1]["recovered"] == "not measured" and rows.iloc[1]["pre-incident band"] == "—"
