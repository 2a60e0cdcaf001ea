"""Step 04's sentences and tables: readable units, and no OOM predicted without an established leak."""
from __future__ import annotations

import numpy as np
import pandas as pd

from irlib.analysis.capacity import time_to_exhaustion
from irlib.steps.performance import exhaustion_rows, exhaustion_summary, readable_usage

MIB = 2.0 ** 20
IDX = pd.date_range("2026-03-01T10:00:00Z", periods=110, freq="5s")


def oom_loop() -> pd.Series:
    values = np.zeros(len(IDX))
    for start, length in ((0, 13), (17, 13), (34, 13), (55, 13), (80, 13), (106, 4)):
        values[start:start + length] = (33 + 5 * np.arange(length)) * MIB
    return pd.Series(values, index=IDX)


def test_summary_of_an_oom_loop_is_in_gib_per_hour_and_seconds() -> None:
    text = exhaustion_summary("orders-1", time_to_exhaustion(oom_loop(), 96 * MIB, unit="bytes"))
    assert "memory grows 3.52 GiB/h" in text and "96.0 MiB limit" in text
    assert "at 2026-03-01 10:09:53 UTC, 48 s after the last sample: predicted OOM kill" in text and "e+" not in text


def test_summary_of_a_short_flat_pod_predicts_no_oom() -> None:
    short = pd.Series(30.5 * MIB + 0.01 * MIB * np.arange(31), index=IDX[:31])  # 0.3 MiB in 2.5 min
    fit = time_to_exhaustion(short, 96 * MIB, unit="bytes")
    text = exhaustion_summary("orders-old", fit)
    assert text.startswith("pod orders-old: no leak established: the samples span only 2 min 30 s")
    assert "predicted OOM" not in text
    row = exhaustion_rows({"orders-old": fit}).iloc[0]
    assert row["predicted OOM"] == "—" and row["time left"] == "—" and row["growth"].endswith("MiB/h")


def test_per_pod_rows_and_current_usage_are_readable() -> None:
    rows = exhaustion_rows({"orders-1": time_to_exhaustion(oom_loop(), 96 * MIB, unit="bytes")})
    assert rows.iloc[0]["time left"] == "in 48 s" and rows.iloc[0]["growth"] == "3.52 GiB/h"
    usage = pd.DataFrame({"pod": ["a", "b"], "container": ["c", "c"], "cpu_cores": [0.25, 0.0123],
                          "memory_bytes": [90 * MIB, 3 * 2.0 ** 30], "cpu_limit": [0.5, np.nan],
                          "memory_limit": [96 * MIB, 4 * 2.0 ** 30]})
    shown = readable_usage(usage)
    assert shown.iloc[0].to_dict() == {"pod": "a", "container": "c", "memory": "90.0 MiB",
                                       "memory limit": "96.0 MiB", "memory of limit": "94%", "CPU": "0.25 cores",
                                       "CPU limit": "0.5 cores", "CPU of limit": "50%"}
    assert shown.iloc[1]["memory"] == "3.00 GiB" and shown.iloc[1]["CPU limit"] == "—"
