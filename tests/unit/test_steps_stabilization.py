"""Step 08's table: bands and shares as people read them."""
from __future__ import annotations

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
