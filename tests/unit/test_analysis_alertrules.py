"""Alert rules derived from an incident's series (promtool itself runs in tests/integration)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import yaml

from irlib.analysis.alertrules import (
    RuleSignal, derive_rule, generate_alert_rules, prom_duration, selector,
)

IDX = pd.date_range("2026-03-01T10:00:00Z", periods=240, freq="30s")
ONSET = IDX[150]


def error_ratio(seed: int = 0) -> pd.Series:
    values = np.random.default_rng(seed).normal(0.01, 0.002, len(IDX)).clip(0)
    values[150:200] += 0.3
    return pd.Series(values, index=IDX)


def test_selector_escapes_label_values_and_refuses_bad_names() -> None:
    assert selector("up", {"job": 'a"b\\c', "env": "x"}) == 'up{env="x",job="a\\"b\\\\c"}'
    assert selector("up", {}) == "up"
    with pytest.raises(ValueError):
        selector("bad-name", {})
    with pytest.raises(ValueError):
        selector("up", {"bad-label": "x"})


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (90, "1m30s"), (300, "5m"), (5400, "1h30m")])
def test_prom_duration(seconds: float, text: str) -> None:
    assert prom_duration(seconds) == text


def test_threshold_between_baseline_and_incident_and_fires_after_onset() -> None:
    rule, grid, why = derive_rule(RuleSignal("error_ratio", "svc:err", error_ratio(), {"service": "checkout"}),
                                  ONSET, service="checkout")
    assert rule is not None and why == ""
    assert rule.baseline_level < rule.threshold < rule.incident_level
    assert rule.expr == f'svc:err{{service="checkout"}} > {rule.threshold:g}'
    assert rule.alert == "CheckoutErrorRatioHigh" and rule.direction == "up"
    assert rule.fires_at is not None and ONSET <= rule.fires_at <= ONSET + pd.Timedelta("6min")
    assert 0 < rule.for_s <= 300
    assert grid.index[1] - grid.index[0] == pd.Timedelta("1min")


def test_falling_signal_gets_a_low_rule() -> None:
    values = np.random.default_rng(2).normal(100, 2, len(IDX))
    values[150:] -= 60
    rule, _, _ = derive_rule(RuleSignal("request_rate", "svc:rps", pd.Series(values, index=IDX)), ONSET)
    assert rule is not None and rule.direction == "down" and " < " in rule.expr and rule.alert == "RequestRateLow"


def test_flat_or_overlapping_signals_are_skipped_with_a_reason() -> None:
    flat = RuleSignal("queue", "q", pd.Series(np.ones(len(IDX)), index=IDX))
    noisy = RuleSignal("noise", "n", pd.Series(np.random.default_rng(3).normal(0, 1, len(IDX)), index=IDX))
    out = generate_alert_rules([flat, noisy], ONSET, incident_id="inc-1", service="s")
    assert out.rules == [] and len(out.skipped) == 2 and "no threshold separates them" in out.skipped[0]
    assert yaml.safe_load(out.rules_yaml) == {"groups": []}


def test_files_are_consistent_yaml_with_sampled_series_and_gaps() -> None:
    series = error_ratio()
    series.iloc[20:30] = np.nan  # a 5-minute gap
    record = 'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))'
    out = generate_alert_rules([RuleSignal("error_ratio", "svc:err", series, {"service": "checkout"}, record)],
                               ONSET, incident_id="inc-42", service="checkout")
    rules = yaml.safe_load(out.rules_yaml)
    assert [g["name"] for g in rules["groups"]] == ["irlib-inc-42-recording", "irlib-inc-42-alerts"]
    assert rules["groups"][0]["rules"] == [{"record": "svc:err", "expr": record}]
    tests = yaml.safe_load(out.test_yaml)
    case = tests["tests"][0]
    values = case["input_series"][0]["values"].split()
    assert "_" in values and len(values) == 120
    firing = case["alert_rule_test"][-1]
    assert firing["exp_alerts"][0]["exp_labels"] == {"service": "checkout", "severity": "page"}
    assert [t["exp_alerts"] for t in case["alert_rule_test"][:-1]] == [[], []]


def test_long_series_are_sampled_down() -> None:
    idx = pd.date_range("2026-03-01T00:00:00Z", periods=3000, freq="15s")
    values = np.full(len(idx), 1.0)
    values[2000:] = 10.0
    out = generate_alert_rules([RuleSignal("x", "m", pd.Series(values, index=idx))], idx[2000],
                               incident_id="i", service="s", step="15s")
    case = yaml.safe_load(out.test_yaml)["tests"][0]
    assert case["interval"] == "1m3s"  # 12.5 h / 720 samples
    assert "1x" in case["input_series"][0]["values"]  # runs are written in promtool's expanding notation


def test_series_shorter_than_four_steps_is_skipped() -> None:
    short = pd.Series([1.0, 1.0, 5.0, 5.0], index=IDX[:4])  # 90 s: fewer than 4 one-minute steps
    out = generate_alert_rules([RuleSignal("x", "m", short)], IDX[2], incident_id="i", service="s")
    assert out.rules == [] and "fewer than 4 steps" in out.skipped[0]


# -- baselines from before the onset, thresholds consistent with the incident's, no rule from noise -------------
def test_baseline_excludes_the_step_the_onset_falls_in() -> None:
    values = np.zeros(len(IDX))
    values[151:200] = 0.3  # the onset is half-way through the 11:15 minute
    rule, _, _ = derive_rule(RuleSignal("error_ratio", "svc:err", pd.Series(values, index=IDX)), IDX[151])
    assert rule is not None and rule.baseline_level == 0.0 and rule.threshold == pytest.approx(0.15)
    assert "pre-onset band's top 0 " in rule.explanation


def test_threshold_never_exceeds_the_incident_threshold() -> None:
    signal = RuleSignal("error_ratio", "svc:err", error_ratio(), {"service": "checkout"}, ceiling=0.05,
                        note="thresholds.error_ratio_p1")
    rule, _, _ = derive_rule(signal, ONSET, service="checkout")
    assert rule is not None and rule.threshold == 0.05
    assert "capped at the incident threshold 0.05 (thresholds.error_ratio_p1)" in rule.explanation


def test_a_rise_within_the_noise_gets_no_rule() -> None:
    values = np.random.default_rng(5).normal(0.0246, 0.0002, len(IDX))
    values[150:] += 0.003  # +12%: the p99 of a healthy service wobbling, not an incident
    rule, _, why = derive_rule(RuleSignal("latency_p99", "svc:p99", pd.Series(values, index=IDX), direction="up",
                                          ceiling=0.5), ONSET)
    assert rule is None and "without alerting on noise" in why


def test_memory_rule_is_a_fraction_of_the_limit() -> None:
    ratio = np.full(len(IDX), 0.3)
    ratio[150:] = np.tile(np.linspace(0.35, 0.99, 10), 9)  # an OOM loop: up to 99% of the limit, killed, again
    signal = RuleSignal("memory_of_limit", "svc:mem_ratio", pd.Series(ratio, index=IDX), direction="up",
                        threshold=0.8, fold="max", note="80% of the 96 MiB container limit")
    out = generate_alert_rules([signal], ONSET, incident_id="i", service="s")
    assert [r.expr for r in out.rules] == ["svc:mem_ratio > 0.8"]
    assert "80% of the 96 MiB container limit" in out.rules[0].explanation
    low = RuleSignal("memory_of_limit", "m", pd.Series(np.full(len(IDX), 0.85), index=IDX), direction="up",
                     threshold=0.8)
    assert "already reaches the threshold 0.8" in derive_rule(low, ONSET)[2]


def test_rule_fires_no_later_than_the_alert_that_already_fired() -> None:
    signal = RuleSignal("error_ratio", "svc:err", error_ratio())
    free, _, _ = derive_rule(signal, ONSET)
    assert free is not None and free.for_s > 0
    fired = free.fires_at - pd.Timedelta("2min")  # type: ignore[operator]
    rule, _, _ = derive_rule(signal, ONSET, fire_by=fired)
    assert rule is not None and rule.fires_at <= fired and rule.for_s < free.for_s  # type: ignore[operator]
    assert "no later than the alert that already fired" in rule.explanation
    assert re.search(r"\(\d+ (?:s|min|h)[^)]* after the onset", rule.explanation), rule.explanation  # '43 s', not '43s'
    out = generate_alert_rules([signal], ONSET, incident_id="i", service="s", fire_by=ONSET - pd.Timedelta("1min"))
    assert out.rules == [] and "would not have caught this earlier" in out.skipped[0]


def test_for_is_never_shorter_than_one_step_even_to_beat_the_alert_that_fired() -> None:
    signal = RuleSignal("error_ratio", "svc:err", error_ratio())
    free, grid, _ = derive_rule(signal, ONSET)
    assert free is not None and free.fires_at is not None
    step_s = (grid.index[1] - grid.index[0]).total_seconds()
    outcomes = []
    for fire_by in (free.fires_at, free.fires_at - pd.Timedelta(seconds=step_s), ONSET):
        rule, _, why = derive_rule(signal, ONSET, fire_by=fire_by)
        assert rule is None or rule.for_s >= step_s, (fire_by, rule)
        assert rule is not None or why
        outcomes.append(rule is not None)
    assert outcomes[0] and not outcomes[-1]  # a rule when it can fire in time; none that would page on one blip
