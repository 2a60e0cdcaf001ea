"""Step 07's tables: the gates shown are the gates applied, with the incident's thresholds, in percent."""
from __future__ import annotations

import numpy as np

from irlib.analysis.canary import CanaryGates, compare_canary
from irlib.steps.deployment import gate_outcomes, gate_triggers

RNG = np.random.default_rng(3)


def test_trigger_table_uses_the_incident_thresholds() -> None:
    table = gate_triggers(CanaryGates.from_thresholds({"error_ratio_p1": 0.08, "latency_p99_s": 0.5}))
    triggers = dict(zip(table["gate"], table["trigger"]))
    assert triggers["error ratio ceiling (thresholds.error_ratio_p1)"] == "canary median > 8.0%"
    assert triggers["p99 latency ceiling (thresholds.latency_p99_s)"] == "canary median > 0.5 s"
    assert triggers["error ratio increase over baseline"].startswith("> +1.0 points")


def test_outcome_table_shows_the_ceiling_the_verdict_was_decided_against() -> None:
    gates = CanaryGates.from_thresholds({"error_ratio_p1": 0.05, "latency_p99_s": 0.5})
    verdict = compare_canary(RNG.normal(0.185, 0.01, 30), np.zeros(30), RNG.normal(0.025, 0.001, 30),
                             RNG.normal(0.025, 0.001, 30), gates=gates)
    row = gate_outcomes(verdict.gates).iloc[0]
    assert row["outcome"] == "fail" and row["ceiling"] == "5.0%" and row["tolerance"] == "+1.0 points"
    assert row["baseline (median)"] == "0.0%" and row["canary (median)"].endswith("%")
    assert "above the ceiling 5.0%" in row["detail"]
    assert gate_outcomes(verdict.gates).iloc[1]["ceiling"] == "0.5 s"
