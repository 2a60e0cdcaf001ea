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
