"""Change-point detection and the combined onset, on small synthetic series with known truth."""
from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from irlib.analysis.onset import (
    change_points, combine_onsets, detect_onset, event_rate, onset_chart, signal_series,
)
from irlib.findings import to_jsonable
from tests.conftest import FIXTURES

IDX = pd.date_range("2026-03-01T10:00:00Z", periods=240, freq="30s")
TRUE_ONSET = IDX[150]


def _noise(seed: int, mean: float, sd: float) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, sd, len(IDX))


def step_series(seed: int = 0, at: int = 150, base: float = 0.01, jump: float = 0.3) -> pd.Series:
    values = _noise(seed, base, 0.002)
    values[at:] += jump
    return pd.Series(values, index=IDX)


def test_step_is_found_at_the_true_time() -> None:
    point = detect_onset(step_series())
    assert point is not None
    assert point.time == TRUE_ONSET
    assert point.direction == "up" and point.after_mean > point.before_mean
    assert point.magnitude > 20


def test_flat_and_pure_noise_series_have_no_change_point() -> None:
    assert detect_onset(pd.Series(np.full(len(IDX), 3.0), index=IDX)) is None
    assert detect_onset(pd.Series(_noise(3, 0.0, 1.0), index=IDX)) is None


def test_short_sharp_change_is_not_missed() -> None:
    values = _noise(1, 100.0, 5.0)
    values[100:103] += 200.0
    point = detect_onset(pd.Series(values, index=IDX))
    assert point is not None and point.time == IDX[100]


def test_nan_gaps_are_dropped_not_fatal() -> None:
    series = step_series()
    series.iloc[20:60] = np.nan
    series.iloc[149] = np.nan
    point = detect_onset(series)
    assert point is not None and abs(point.time - TRUE_ONSET) <= pd.Timedelta("1min")


def test_two_incidents_in_one_window_are_both_seen_and_the_first_is_the_onset() -> None:
    values = _noise(2, 0.01, 0.002)
    values[60:90] += 0.3
    values[180:] += 0.5
    points = change_points(pd.Series(values, index=IDX))
    assert [p.direction for p in points] == ["up", "down", "up"]
    assert points[0].time == IDX[60] and points[2].time == IDX[180]
    assert detect_onset(pd.Series(values, index=IDX), direction="down").time == IDX[90]  # type: ignore[union-attr]


def test_too_short_series_claims_nothing() -> None:
    assert detect_onset(pd.Series([1.0, 1.0, 9.0, 9.0], index=IDX[:4])) is None


def test_downward_change_of_a_request_rate() -> None:
    values = _noise(4, 200.0, 4.0)
    values[120:] -= 150.0
    point = detect_onset(pd.Series(values, index=IDX))
    assert point is not None and point.direction == "down" and point.time == IDX[120]


def test_combined_onset_agrees_and_scores_confidence() -> None:
    latency = step_series(seed=5, at=152, base=0.2, jump=1.5)
    memory = pd.Series(_noise(6, 5e8, 1e6), index=IDX)  # steady: no change
    onset = combine_onsets({"error_ratio": step_series(), "latency_p99": latency, "memory": memory})
    # the mean of the agreeing change points (the error ratio at the onset, the latency a minute later)
    assert TRUE_ONSET <= onset.time <= onset.per_signal["latency_p99"]
    assert abs(onset.time - TRUE_ONSET) <= pd.Timedelta(minutes=1)
    assert onset.agreeing == ["error_ratio", "latency_p99"]
    assert onset.per_signal["memory"] is None
    assert onset.confidence == pytest.approx(2 / 3, abs=1e-3)
    assert onset.time is not None and f"{onset.time:%Y-%m-%d %H:%M:%S} UTC: error_ratio" in onset.explanation
    json.dumps(to_jsonable(asdict(onset)))


def test_combined_onset_prefers_the_largest_agreeing_group() -> None:
    early_outlier = step_series(seed=7, at=40)
    onset = combine_onsets({"a": early_outlier, "b": step_series(seed=8), "c": step_series(seed=9, at=153)})
    assert onset.agreeing == ["b", "c"] and abs(onset.time - TRUE_ONSET) <= pd.Timedelta(minutes=1)
    assert onset.time < early_outlier.index[-1] and onset.time > early_outlier.index[40]


def test_one_noisy_early_signal_does_not_set_the_combined_onset() -> None:
    """Latency under load wobbles up 2 minutes early; the error ratio and memory change together later."""
    noisy = step_series(seed=3, at=122)
    onset = combine_onsets({"latency_p99": noisy, "error_ratio": step_series(seed=4, at=126)},
                           agree_within="2min")
    assert onset.time is not None and noisy.index[122] < onset.time < noisy.index[126]


def test_combined_onset_without_any_change() -> None:
    flat = pd.Series(np.full(len(IDX), 1.0), index=IDX)
    onset = combine_onsets({"x": flat})
    assert onset.time is None and onset.confidence == 0.0 and onset.agreeing == []
    assert combine_onsets({}).explanation == "no signal had enough data points"


@pytest.mark.parametrize("with_onset", [True, False])
def test_onset_chart_is_a_figure(with_onset: bool) -> None:
    signals = {"error_ratio": step_series()}
    onset = combine_onsets(signals) if with_onset else None
    fig = onset_chart(signals, onset)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    assert ("onset 2026-03-01 11:15:00" in fig._suptitle.get_text()) is with_onset  # type: ignore[union-attr]


def test_signal_series_combines_pods_by_the_signal_rule() -> None:
    stamps = [IDX[0], IDX[0], IDX[1], IDX[1]]
    frame = pd.DataFrame({"timestamp": stamps * 2, "series": ["a", "b", "a", "b"] * 2, "labels": ["{}"] * 8,
                          "value": [1.0, 2.0, 3.0, 4.0, 0.1, 0.5, 0.2, 0.3],
                          "signal": ["request_rate"] * 4 + ["error_ratio"] * 4})
    assert signal_series(frame, "request_rate").tolist() == [3.0, 7.0]
    assert signal_series(frame, "error_ratio").tolist() == [0.5, 0.3]
    assert signal_series(frame, "latency_p99").empty


def test_event_rate_feeds_onset_detection_for_a_template() -> None:
    start, end = IDX[0], IDX[-1]
    quiet = [start + pd.Timedelta(minutes=m) for m in range(0, 75, 5)]
    storm = [IDX[150] + pd.Timedelta(seconds=s) for s in range(0, 2400, 3)]
    rate = event_rate(pd.Series(quiet + storm), start, end)
    assert rate.index[0] == start and rate.sum() == len(quiet) + len(storm) and rate.min() == 0
    point = detect_onset(rate)
    assert point is not None and point.time == IDX[150]


def test_noise_free_step_and_poisson_counts() -> None:
    exact = pd.Series([1.0] * 100 + [9.0] * 140, index=IDX)
    assert detect_onset(exact).time == IDX[100]  # type: ignore[union-attr]
    counts = np.random.default_rng(12).poisson(0.3, len(IDX)).astype(float)
    assert detect_onset(pd.Series(counts, index=IDX)) is None
    counts[150:] += np.random.default_rng(13).poisson(8.0, len(IDX) - 150)
    assert detect_onset(pd.Series(counts, index=IDX)).time == IDX[150]  # type: ignore[union-attr]


def _real_up(name: str) -> pd.Series:
    frame = pd.read_csv(FIXTURES / "analysis" / name)
    return pd.Series(frame["value"].astype(float).to_numpy(), index=pd.to_datetime(frame["timestamp"], unit="s",
                                                                                   utc=True))


def test_real_target_outage_onset_is_the_first_failed_scrape() -> None:
    series = _real_up("up_thoth_test_core_outage.csv")
    point = detect_onset(series)
    assert point is not None and point.direction == "down"
    assert point.time == series.index[200]  # the first 0 (row 490 of the source chunk)


def test_real_short_outage_is_found_and_routine_flaps_are_not_onsets() -> None:
    short = _real_up("up_prophet_2_short_outage.csv")
    points = change_points(short)
    assert [p.direction for p in points] == ["down", "up"] and points[0].time == short.index[47]
    assert detect_onset(_real_up("up_prophet_1_flapping.csv")) is None


def test_a_tiny_wobble_on_a_quiet_series_is_not_the_onset() -> None:
    idx = pd.date_range("2026-11-20T14:00:00Z", periods=120, freq="5s")
    rng = np.random.default_rng(7)
    values = 0.0245 + rng.normal(0, 0.00003, len(idx))
    values[20:] += 0.0003          # a 1 % wobble: many noise sigmas, no incident
    values[80:] += 0.02            # the real change: latency nearly doubles
    point = detect_onset(pd.Series(values, index=idx))
    assert point is not None and point.time == idx[80]


@pytest.mark.parametrize("seed", range(5))
def test_a_slow_burn_onset_is_where_the_ramp_starts_not_where_it_crossed_a_threshold(seed: int) -> None:
    # p99 latency with 20 % jitter: flat for 4 minutes, then a linear climb to 11x over 16 minutes (the lab's
    # slow burn).  A step search alone notices it only once the climb has gone far enough.
    idx = pd.date_range("2026-03-01T10:00:00Z", periods=300, freq="4s")
    climb = np.concatenate([np.zeros(60), np.linspace(0.0, 0.2, 240)])
    jitter = 1 + np.random.default_rng(seed).normal(0, 0.2, len(idx))
    point = detect_onset(pd.Series((0.02 + climb) * jitter, index=idx), direction="up", min_relative=0.5)
    assert point is not None and point.method == "ramp"
    assert abs((point.time - idx[60]).total_seconds()) <= 30


def test_a_sharp_step_is_not_moved_by_the_ramp_refinement() -> None:
    for seed in range(5):
        point = detect_onset(step_series(seed))
        assert point is not None and point.time == TRUE_ONSET and point.method == "pelt"
