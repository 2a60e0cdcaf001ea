"""The generated rules fire on the raw series too: the recording rule labels its result with the service the
alert selects on (promtool evaluates recording and alerting rules from raw http_requests_total counters)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import yaml

from irlib.analysis.alertrules import RuleSignal, generate_alert_rules
from irlib.steps.monitoring import _recorded
from tests.conftest import missing_server

QUERY = ('(sum(rate(http_requests_total{namespace="shop",code=~"5.."}[1m])) or vector(0)) '
         '/ sum(rate(http_requests_total{namespace="shop"}[1m]))')


def test_rules_fire_from_raw_counters(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        missing_server("promtool is not installed (Debian package prometheus)")
    idx = pd.date_range("2026-11-20T14:00:00Z", periods=30, freq="1min")
    ratio = pd.Series([0.0] * 15 + [0.4] * 15, index=idx)
    rules = generate_alert_rules([RuleSignal("error_ratio", "service:error_ratio", ratio, {"service": "checkout"},
                                             _recorded(QUERY, "max", "checkout"), "up")],
                                 idx[15], incident_id="INC-1", service="checkout")
    assert rules.rules, rules.skipped
    (tmp_path / "rules.yml").write_text(rules.rules_yaml)
    ok200 = " ".join(str(600 * i) for i in range(31))                 # 10 requests/s, all fine
    fail = " ".join(str(0 if i < 15 else 400 * (i - 15)) for i in range(31))  # then 6.7/s of 503s
    alert = rules.rules[0].alert
    annotations = yaml.safe_load(rules.rules_yaml)["groups"][1]["rules"][0]["annotations"]
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [
            {"series": 'http_requests_total{namespace="shop",pod="checkout-1",code="200"}', "values": ok200},
            {"series": 'http_requests_total{namespace="shop",pod="checkout-1",code="503"}', "values": fail}],
        "alert_rule_test": [
            {"eval_time": "10m", "alertname": alert, "exp_alerts": []},
            {"eval_time": "29m", "alertname": alert, "exp_alerts": [
                {"exp_labels": {"service": "checkout", "severity": "page"}, "exp_annotations": annotations}]}]}]}
    (tmp_path / "raw.test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    done = subprocess.run([promtool, "test", "rules", "raw.test.yml"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
