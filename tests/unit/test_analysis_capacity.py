"""Trend to exhaustion, the leak's restart pattern and the capacity table."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from irlib.analysis.capacity import (
    CAPACITY_SCHEMA, capacity_chart, capacity_table, restart_pattern, time_to_exhaustion,
)

IDX = pd.date_range("2026-03-01T10:00:00Z", periods=120, freq="1min")
MIB = 2.0 ** 20
LIMIT = 512 * MIB


def leak(seed: int = 0) -> pd.Series:
    """200 MiB growing 2 MiB a minute, with a little noise."""
    noise = np.random.default_rng(seed).normal(0, 0.5 * MIB, len(IDX))
    return pd.Series(200 * MIB + 2 * MIB * np.arange(len(IDX)) + noise, index=IDX)


def test_leak_predicts_the_oom_time() -> None:
    fit = time_to_exhaustion(leak(), LIMIT)
    # at 11:59 the line is at 438 MiB; 74 MiB more at 2 MiB/min = 37 min -> about 12:36
    assert fit.predicted_at is not None
    assert abs(fit.predicted_at - pd.Timestamp("2026-03-01T12:36:00Z")) < pd.Timedelta("2min")
    assert fit.r2 is not None and fit.r2 > 0.99
    assert fit.slope_per_hour == pytest.approx(120 * MIB, rel=0.02)
    assert "steady leak" in fit.verdict and 0.8 < fit.utilisation < 0.9  # type: ignore[operator]


def test_sawtooth_is_fitted_after_the_last_restart() -> None:
    values = leak().to_numpy().copy()
    values[80:] = 150 * MIB + 2 * MIB * np.arange(40)  # OOM kill at minute 80, growing again
    fit = time_to_exhaustion(pd.Series(values, index=IDX), LIMIT)
    assert fit.fitted_from == IDX[80] and fit.points == 40
    assert fit.slope_per_hour == pytest.approx(120 * MIB, rel=0.01)


def test_flat_series_no_limit_over_limit_and_nan_gaps() -> None:
    flat = pd.Series(np.full(len(IDX), 300 * MIB), index=IDX)
    assert time_to_exhaustion(flat, LIMIT).predicted_at is None
    assert "not growing" in time_to_exhaustion(flat, LIMIT).verdict
    assert "no limit" in time_to_exhaustion(leak(), None).verdict
    over = time_to_exhaustion(leak() + LIMIT, LIMIT)
    assert over.hours_left == 0.0 and over.predicted_at == IDX[-1]
    gappy = leak()
    gappy.iloc[10:50] = np.nan
    assert time_to_exhaustion(gappy, LIMIT).predicted_at is not None
    assert "not enough points" in time_to_exhaustion(leak().iloc[:3], LIMIT).verdict


def test_regular_restarts_are_a_leak_signature() -> None:
    times = [pd.Timestamp("2026-03-01T10:00:00Z") + pd.Timedelta(minutes=37 * i + s) for i, s in
             enumerate([0, 1, -1, 0, 1])]
    pattern = restart_pattern(times)
    assert pattern.count == 5 and pattern.regular and pattern.leak_signature
    assert pattern.mean_interval_s == pytest.approx(37 * 60 + 15, abs=30)
    irregular = restart_pattern([pd.Timestamp("2026-03-01T10:00:00Z") + pd.Timedelta(minutes=m)
                                 for m in (0, 2, 50, 51)])
    assert not irregular.leak_signature and irregular.cv > 0.3  # type: ignore[operator]
    assert restart_pattern([]).count == 0 and not restart_pattern([IDX[0]]).regular


def test_capacity_table_and_chart() -> None:
    table = capacity_table({"memory": leak(), "cpu": pd.Series(np.full(len(IDX), 0.2), index=IDX)},
                           {"memory": LIMIT, "cpu": 1.0})
    assert list(table.columns) == list(CAPACITY_SCHEMA)
    assert table["resource"].tolist() == ["memory", "cpu"]
    assert pd.notna(table.loc[0, "predicted_exhaustion"]) and pd.isna(table.loc[1, "predicted_exhaustion"])
    assert table.loc[1, "utilisation"] == pytest.approx(0.2)
    fig = capacity_chart(leak(), LIMIT, time_to_exhaustion(leak(), LIMIT))
    assert isinstance(fig, Figure) and "steady leak" in fig.axes[0].get_title()


def test_leak_starting_mid_window_is_fitted_from_where_it_started() -> None:
    start = IDX[60]
    minutes = np.maximum(0, (IDX - start).total_seconds() / 60)
    noise = np.random.default_rng(4).normal(0, MIB, len(IDX))
    series = pd.Series(300 * MIB + 3 * MIB * minutes + noise, index=IDX)
    for fit in (time_to_exhaustion(series, LIMIT), time_to_exhaustion(series, LIMIT, since=start)):
        assert fit.slope_per_hour == pytest.approx(180 * MIB, rel=0.05)
        # 300 MiB + 3 MiB/min from 11:00 reaches 512 MiB at about 12:10:40
        assert abs(fit.predicted_at - pd.Timestamp("2026-03-01T12:10:40Z")) < pd.Timedelta("3min")  # type: ignore[operator]


# -- leaks are only established from enough evidence; numbers are shown in readable units ----------------------
def test_a_few_mib_over_a_couple_of_minutes_is_no_leak_established() -> None:
    idx = pd.date_range("2026-03-01T10:00:00Z", periods=25, freq="5s")
    series = pd.Series(300 * MIB + 0.125 * MIB * np.arange(len(idx)), index=idx)  # 3 MiB in 2 min
    fit = time_to_exhaustion(series, LIMIT, unit="bytes")
    assert not fit.leak and fit.predicted_at is None and fit.hours_left is None
    assert fit.verdict.startswith("no leak established: the samples span only 2 min")


def test_growth_that_needs_days_to_reach_the_limit_is_no_leak_established() -> None:
    series = pd.Series(200 * MIB + MIB / 60 * np.arange(len(IDX)), index=IDX)  # 1 MiB/h over 2 h, 512 MiB limit
    fit = time_to_exhaustion(series, LIMIT, unit="bytes")
    assert not fit.leak and fit.predicted_at is None
    assert "under 5% of the 512.0 MiB limit" in fit.verdict and "grew 2.0 MiB" in fit.verdict


def test_noisy_growth_is_no_leak_established() -> None:
    noise = np.random.default_rng(1).normal(0, 40 * MIB, len(IDX))
    fit = time_to_exhaustion(pd.Series(200 * MIB + 0.3 * MIB * np.arange(len(IDX)) + noise, index=IDX), LIMIT)
    assert not fit.leak and fit.predicted_at is None and "not steady" in fit.verdict


def test_oom_loop_is_a_leak_fitted_across_its_restart_cycles() -> None:
    """The demo's shape: 96 MiB limit, 1 MiB/s from 33 MiB, killed at 95 MiB, down for 20-60 s, last cycle short."""
    idx = pd.date_range("2026-03-01T10:00:00Z", periods=110, freq="5s")
    values = np.zeros(len(idx))
    for start, length in ((0, 13), (17, 13), (34, 13), (55, 13), (80, 13), (106, 4)):
        values[start:start + length] = (33 + 5 * np.arange(length)) * MIB
    fit = time_to_exhaustion(pd.Series(values, index=idx), 96 * MIB, unit="bytes")
    assert fit.leak and fit.predicted_at is not None
    # the last cycle is at 48 MiB: 48 MiB more at 1 MiB/s
    assert abs(fit.predicted_at - (idx[-1] + pd.Timedelta(seconds=48))) < pd.Timedelta(seconds=3)
    assert "over 6 restart cycles" in fit.verdict and "GiB/h" in fit.verdict and "in 48 s" in fit.verdict


def test_numbers_are_readable() -> None:
    from irlib.analysis.capacity import format_amount, format_rate, format_time_left

    assert format_rate(7.638726363e9, "bytes") == "7.11 GiB/h"
    assert format_rate(6_591_521, "bytes") == "6.3 MiB/h"
    assert format_amount(0.0232, "cores") == "0.0232 cores" and format_rate(-0.3686, "cores") == "-0.369 cores/h"
    assert format_time_left(0.0) == "already at the limit"
    assert format_time_left(0.006097) == "in 22 s" and format_time_left(0.5) == "in 30 min"
    assert format_time_left(10.37) == "in 10.4 h" and format_time_left(100) == "in 4.2 days"
    assert "reaches the limit in 36 min" in time_to_exhaustion(leak(), LIMIT, unit="bytes").verdict


def test_readable_capacity_table_has_units_and_no_exponents() -> None:
    from irlib.analysis.capacity import readable_capacity

    cpu = pd.Series(0.02 + 0.0001 * np.arange(len(IDX)), index=IDX)
    table = capacity_table({"memory a": leak(), "cpu a": cpu}, {"memory a": LIMIT, "cpu a": None},
                           {"memory a": "bytes", "cpu a": "cores"})
    shown = readable_capacity(table)
    text = shown.to_string()
    assert "e+" not in text and "e-" not in text
    mem = shown.iloc[0]
    assert mem["limit"] == "512.0 MiB" and mem["growth"].endswith("MiB/h") and mem["time left"] == "in 36 min"
    assert mem["of limit"].endswith("%") and mem["limit reached at"].endswith("UTC")
    assert shown.iloc[1]["current"].endswith("cores") and shown.iloc[1]["growth"].endswith("cores/h")
    assert bool(table.loc[0, "leak"]) and table.loc[0, "unit"] == "bytes"
