"""Recovery verification: metric bands, pods, backlog ETA and check results."""
from __future__ import annotations

import numpy as np
import pandas as pd

from irlib.analysis.recovery import backlog_drain, metric_recovery, pods_ready_fraction, verify_recovery

IDX = pd.date_range("2026-03-01T10:00:00Z", periods=120, freq="1min")
BASELINE = (IDX[0], IDX[59])
ONSET, SINCE = IDX[60], IDX[100]


def error_ratio(recovered: bool = True, seed: int = 0) -> pd.Series:
    values = np.random.default_rng(seed).normal(0.01, 0.001, len(IDX))
    values[60:(90 if recovered else 120)] = 0.4
    return pd.Series(values, index=IDX)


def pods(ready: list[bool]) -> pd.DataFrame:
    return pd.DataFrame({"pod": [f"p{i // 2}" for i in range(2 * len(ready))],
                         "container": ["app", "sidecar"] * len(ready),
                         "pod_ready": [r for r in ready for _ in (0, 1)]})


def test_metric_back_in_band() -> None:
    result = metric_recovery("error_ratio", error_ratio(), BASELINE, SINCE)
    assert result.recovered and result.inside_fraction >= 0.9  # type: ignore[operator]
    assert result.band_low < 0.01 < result.band_high  # type: ignore[operator]
    assert not metric_recovery("error_ratio", error_ratio(False), BASELINE, SINCE).recovered


def test_flat_baseline_still_has_a_band_and_nan_gaps_are_ignored() -> None:
    flat = pd.Series(np.full(len(IDX), 5.0), index=IDX)
    flat.iloc[105:110] = np.nan
    assert metric_recovery("queue", flat, BASELINE, SINCE).recovered
    short = metric_recovery("x", flat.iloc[:2], BASELINE, SINCE)
    assert short.recovered is None and "not enough data" in short.detail


def test_backlog_draining_eta() -> None:
    backlog = pd.Series(np.maximum(0, 1000 - 20 * np.arange(len(IDX))).astype(float), index=IDX)
    backlog = backlog.iloc[:40]  # 1000 -> 220 by 10:39, falling 20/min
    drain = backlog_drain(backlog)
    assert drain.draining and abs(drain.slope_per_min + 20) < 1e-6  # type: ignore[operator]
    assert drain.eta == pd.Timestamp("2026-03-01T10:50:00Z")
    growing = backlog_drain(pd.Series(np.arange(40.0), index=IDX[:40]))
    assert not growing.draining and growing.eta is None


def test_verify_recovery_all_good_and_blockers() -> None:
    checks = pd.DataFrame({"name": ["orders_match", "no_dupes"], "ok": [True, True], "detail": ["", ""]})
    good = verify_recovery({"error_ratio": error_ratio()}, BASELINE, SINCE, pods=pods([True, True]), checks=checks)
    assert good.recovered and good.checks_passed == 2 and good.pods_ready_fraction == 1.0
    bad_checks = pd.DataFrame({"name": ["orders_match", "ledger"], "ok": [False, None], "detail": ["3 rows", None]})
    bad = verify_recovery({"error_ratio": error_ratio(False)}, BASELINE, SINCE, pods=pods([True, False]),
                          checks=bad_checks)
    assert not bad.recovered
    text = " ".join(bad.reasons)
    assert "error_ratio not back in band" in text and "50% of pods" in text and "orders_match (3 rows)" in text
    assert bad.checks_not_run == ["ledger"] and "consistency check not run: ledger" in bad.missing


def test_nothing_measured_is_not_a_recovery() -> None:
    result = verify_recovery({}, BASELINE, SINCE)
    assert not result.recovered and "not verified" in result.reasons[0]
    assert pods_ready_fraction(None) is None


def test_ready_pods_do_not_prove_recovery_when_the_metrics_cannot_be_measured() -> None:
    idx = pd.date_range("2026-11-20T14:00:00Z", periods=30, freq="1min")
    only_recent = pd.Series(0.4, index=idx)
    pods = pd.DataFrame({"pod": ["a", "b"], "pod_ready": [True, True]})
    out = verify_recovery({"error_ratio": only_recent}, (idx[0] - pd.Timedelta("1h"), idx[0] - pd.Timedelta("30min")),
                          idx[10], pods=pods)
    assert out.recovered is False
    assert any("error_ratio" in m for m in out.missing)


def test_a_zero_baseline_band_reads_as_zero() -> None:
    from irlib.analysis.recovery import band_edge_text, baseline_band

    zeros = pd.Series(np.zeros(20), index=pd.date_range("2026-03-01T10:00:00Z", periods=20, freq="1min"))
    low, high = baseline_band(zeros)
    assert low < 0 < high and band_edge_text(low) == band_edge_text(high) == "0"
    result = metric_recovery("error_ratio", zeros, (zeros.index[0], zeros.index[9]), zeros.index[10])
    assert result.recovered and "band 0%" in result.detail and "e-12" not in result.detail


def test_a_jitter_wide_latency_band_is_widened_to_ten_percent_of_its_level() -> None:
    from irlib.analysis.recovery import recovery_band

    rng = np.random.default_rng(1)
    values = rng.uniform(0.0235, 0.0255, len(IDX))  # a 2 ms wide baseline around 24.5 ms
    values[60:100] = 0.3
    values[100:] = rng.uniform(0.0215, 0.0275, 20)  # back to normal, jitter of ±3 ms
    series = pd.Series(values, index=IDX)
    low, high = recovery_band(series[:60])
    median = float(series[:60].median())
    assert low <= median * 0.9 + 1e-12 and high >= median * 1.1 - 1e-12
    result = metric_recovery("latency_p99", series, BASELINE, SINCE)
    assert result.recovered and result.unit == "seconds"
    assert "ms" in result.detail and "recent median" in result.detail


def test_values_read_in_units() -> None:
    from irlib.analysis.recovery import band_text, value_text

    assert value_text(0.185, "ratio") == "18.5%" and value_text(0.0004, "ratio") == "0.04%"
    assert value_text(0.02461, "seconds") == "24.6 ms" and value_text(1.5, "seconds") == "1.50 s"
    assert value_text(99622912.0, "bytes") == "95.0 MiB" and value_text(-1e-12, "ratio") == "0%"
    assert band_text(-1e-12, 1e-12, "ratio") == "0%" and band_text(0.0, 0.02, "ratio") == "[0%, 2.0%]"
