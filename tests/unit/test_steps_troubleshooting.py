"""Step 02's signal ranges: every value in its unit."""
from __future__ import annotations

import pandas as pd

from irlib.steps.troubleshooting import signal_ranges


def test_signal_ranges_show_units() -> None:
    idx = pd.date_range("2026-12-03T17:10Z", periods=3, freq="15s")
    rows = signal_ranges({"request_rate": pd.Series([9.972, 11.34, 11.33], index=idx),
                          "error_ratio": pd.Series([0.0, 1.0, 0.6865], index=idx),
                          "latency_p99": pd.Series([0.00495, 0.04655, 0.02346], index=idx),
                          "cpu_usage": pd.Series([0.01225, 0.04391, 0.02323], index=idx),
                          "memory_working_set": pd.Series([0.0, 99622912.0, 46915584.0], index=idx),
                          "up": pd.Series(dtype="float64")}).set_index("signal")
    assert rows.loc["request_rate"].tolist() == ["9.972 req/s", "11.34 req/s", "11.33 req/s"]
    assert rows.loc["error_ratio"].tolist() == ["0%", "100.0%", "68.7%"]
    assert rows.loc["latency_p99"].tolist() == ["5.0 ms", "46.6 ms", "23.5 ms"]
    assert rows.loc["cpu_usage", "max"] == "0.04391 cores"
    assert rows.loc["memory_working_set"].tolist() == ["0.0 MiB", "95.0 MiB", "44.7 MiB"]
    assert "up" not in rows.index
