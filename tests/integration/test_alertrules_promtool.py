"""Generated alert rules and their unit tests pass the real `promtool check rules` and `promtool test rules`."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from irlib.analysis.alertrules import AlertRules, RuleSignal, generate_alert_rules
from tests.conftest import missing_server

IDX = pd.date_range("2026-03-01T10:00:00Z", periods=240, freq="30s")
ONSET = IDX[150]
RECORD = ('sum by (service) (rate(http_requests_total{service="checkout",code=~"5.."}[5m])) '
          '/ sum by (service) (rate(http_requests_total{service="checkout"}[5m]))')


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)
    if found is None:
        missing_server("promtool is not installed (apt-get install prometheus)")
    return str(found)


def _run(promtool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def incident_rules() -> AlertRules:
    rng = np.random.default_rng(0)
    err = rng.normal(0.01, 0.002, len(IDX)).clip(0)
    err[150:200] += 0.3
    err_series = pd.Series(err, index=IDX)
    err_series.iloc[30:36] = np.nan
    latency = rng.normal(0.2, 0.01, len(IDX))
    latency[151:] += 1.0
    rate = rng.normal(100, 2, len(IDX))
    rate[150:] -= 60
    signals = [
        RuleSignal("error_ratio", "service:error_ratio:rate5m", err_series, {"service": "checkout"}, RECORD),
        RuleSignal("latency_p99", "service:latency_p99:5m", pd.Series(latency, index=IDX),
                   {"service": "checkout", "quantile": "0.99"}),
        RuleSignal("request_rate", "service:request_rate:rate5m", pd.Series(rate, index=IDX), {"service": 'check"out'}),
    ]
    return generate_alert_rules(signals, ONSET, incident_id="inc-42", service="checkout", step="1m")


def _write(tmp_path: Path, rules: AlertRules) -> None:
    (tmp_path / "rules.yml").write_text(rules.rules_yaml)
    (tmp_path / "rules_test.yml").write_text(rules.test_yaml)


def test_rules_are_valid_and_their_tests_pass(promtool: str, tmp_path: Path) -> None:
    rules = incident_rules()
    assert len(rules.rules) == 3 and rules.skipped == []
    _write(tmp_path, rules)
    checked = _run(promtool, "check", "rules", "rules.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 4 rules found" in checked.stdout
    tested = _run(promtool, "test", "rules", "rules_test.yml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_generated_tests_catch_a_wrong_threshold(promtool: str, tmp_path: Path) -> None:
    rules = incident_rules()
    broken = rules.rules_yaml.replace(rules.rules[0].expr, rules.rules[0].expr.rsplit(" ", 1)[0] + " 0.9")
    assert broken != rules.rules_yaml
    _write(tmp_path, AlertRules(broken, rules.test_yaml))
    tested = _run(promtool, "test", "rules", "rules_test.yml", cwd=tmp_path)
    assert tested.returncode != 0 and "CheckoutErrorRatioHigh" in tested.stdout + tested.stderr


def test_sampled_down_long_series_still_pass(promtool: str, tmp_path: Path) -> None:
    idx = pd.date_range("2026-03-01T00:00:00Z", periods=3000, freq="15s")
    values = np.random.default_rng(5).normal(5e8, 1e6, len(idx))
    values[2000:] += 3e8
    rules = generate_alert_rules([RuleSignal("memory_working_set", "container_memory_working_set_bytes",
                                             pd.Series(values, index=idx), {"container": "app"})],
                                 idx[2000], incident_id="leak", service="checkout", step="15s")
    _write(tmp_path, rules)
    assert _run(promtool, "check", "rules", "rules.yml", cwd=tmp_path).returncode == 0
    tested = _run(promtool, "test", "rules", "rules_test.yml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
