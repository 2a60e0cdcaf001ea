"""Canary verdicts on synthetic samples with known differences."""
from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np

from irlib.analysis.canary import CanaryGates, compare_canary

RNG = np.random.default_rng(11)
BASE_ERR = RNG.normal(0.002, 0.0005, 30).clip(0)
BASE_LAT = RNG.normal(0.25, 0.02, 30)


def test_healthy_canary_is_promoted() -> None:
    verdict = compare_canary(RNG.normal(0.002, 0.0005, 30).clip(0), BASE_ERR, RNG.normal(0.25, 0.02, 30), BASE_LAT)
    assert verdict.verdict == "promote"
    assert [g.outcome for g in verdict.gates] == ["pass", "pass"]
    json.dumps(asdict(verdict))


def test_failing_canary_is_rolled_back() -> None:
    verdict = compare_canary(RNG.normal(0.04, 0.005, 30), BASE_ERR, RNG.normal(0.25, 0.02, 30), BASE_LAT)
    assert verdict.verdict == "rollback"
    err = verdict.gates[0]
    assert err.outcome == "fail" and err.p_value is not None and err.p_value < 1e-6


def test_slow_canary_is_rolled_back_on_latency() -> None:
    verdict = compare_canary(BASE_ERR, BASE_ERR, RNG.normal(0.5, 0.03, 30), BASE_LAT)
    assert verdict.verdict == "rollback" and verdict.gates[1].name == "latency"
    assert verdict.gates[1].outcome == "fail" and verdict.gates[1].canary_value > 0.45  # type: ignore[operator]


def test_too_few_samples_or_insignificant_worsening_holds() -> None:
    few = compare_canary([0.001, 0.002], BASE_ERR)
    assert few.verdict == "hold" and "not enough samples" in few.gates[0].detail
    noisy = compare_canary([0.0, 0.05, 0.0, 0.06, 0.04], [0.0, 0.05, 0.0, 0.04, 0.0, 0.06, 0.0],
                           gates=CanaryGates(error_ratio_ceiling=0.5))
    assert noisy.verdict == "hold" and "not significant" in noisy.gates[0].detail


def test_ceiling_fails_even_when_baseline_is_as_bad() -> None:
    bad = RNG.normal(0.2, 0.01, 20)
    verdict = compare_canary(bad, bad)
    assert verdict.verdict == "rollback" and "ceiling" in verdict.gates[0].detail


def test_nan_gaps_and_identical_flat_samples() -> None:
    flat = [0.0] * 10 + [float("nan")] * 3
    verdict = compare_canary(flat, flat, [0.2] * 10, [0.2] * 10)
    assert verdict.verdict == "promote" and verdict.gates[0].p_value == 1.0


def test_ceilings_come_from_the_incident_thresholds_and_are_shown_as_they_are_used() -> None:
    gates = CanaryGates.from_thresholds({"error_ratio_p1": 0.10, "latency_p99_s": 0.5})
    assert gates.error_ratio_ceiling == 0.10 and gates.latency_ceiling_s == 0.5
    steady = RNG.normal(0.07, 0.002, 20)  # 7%: above the default 5% ceiling, below this incident's 10%
    assert compare_canary(steady, steady, gates=gates).verdict == "promote"
    bad = compare_canary(RNG.normal(0.2, 0.01, 20), RNG.normal(0.2, 0.01, 20), gates=gates).gates[0]
    assert bad.outcome == "fail" and bad.ceiling == 0.10
    assert bad.detail.startswith("canary median 20.") and bad.detail.endswith("% above the ceiling 10.0%")
    slow = compare_canary(BASE_ERR, BASE_ERR, RNG.normal(0.6, 0.01, 20), RNG.normal(0.6, 0.01, 20), gates=gates)
    assert slow.gates[1].outcome == "fail" and slow.gates[1].detail.endswith("above the ceiling 0.5 s")
