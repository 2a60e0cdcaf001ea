"""Step 11: the incident's signature as a runnable pytest file, validated, plus the resilience checks to add."""
from __future__ import annotations

import sys
from typing import Any

import pandas as pd

from ..display import Answer
from ..fsutil import write_text
from ..investigation import Investigation
from . import common, facts
from .checks import all_passed, run_tools

TEST_FILE = "artifacts/test_incident_regression.py"


def signature(inv: Investigation):  # -> RegressionSignature
    from ..analysis.regression import RegressionSignature
    from ..logs.analysis import assign_templates, top_errors

    records = facts.log_records(inv)
    template, failing, healthy = None, [], []
    if len(records):
        top = top_errors(records, limit=1)
        if len(top):
            assigned = assign_templates(records)
            template = str(top.iloc[0]["template"])
            hits = assigned[assigned["template_id"] == top.iloc[0]["template_id"]]
            failing = [str(m).split("\n")[0] for m in hits["message"].head(20)]
            others = assigned[(assigned["template_id"] != top.iloc[0]["template_id"])
                              & (assigned["level"] == "INFO")]
            healthy = [str(m).split("\n")[0] for m in others["message"].head(20)]
    onset = facts.onset_time(inv)
    ratio = common.signal_series(inv, "error_ratio", "max")
    base = ratio[ratio.index < onset] if onset is not None and len(ratio) else ratio.iloc[0:0]
    after = ratio[ratio.index >= onset] if onset is not None and len(ratio) else ratio.iloc[0:0]
    threshold, note = error_ratio_threshold(
        base, after, inv.finding("alert_rules") or [], inv.finding("alert_rules_skipped") or [],
        float(inv.incident.thresholds["error_ratio_p1"]))
    return RegressionSignature(
        incident_id=inv.incident.id, service=inv.incident.service["name"], template=template,
        failing_lines=failing, healthy_lines=healthy, metric="error_ratio" if threshold is not None else None,
        threshold=threshold, direction="up", baseline_values=list(base.dropna().to_numpy()[-200:]),
        incident_values=list(after.dropna().to_numpy()[:200]), resilience_checks=resilience_checks(inv),
        threshold_note=note)


def error_ratio_threshold(base: pd.Series, after: pd.Series, rules: list[dict[str, Any]], skipped: list[str],
                          ceiling: float) -> tuple[float | None, str]:
    """The error-ratio threshold of the generated test and where it comes from, relative to step 07's ceiling
    (thresholds.error_ratio_p1) and step 10's rule: step 10's error-ratio rule when there is one, else midway
    between the pre-onset maximum and the incident median, rounded to the fewest digits that still separate them."""
    from ..analysis.regression import round_threshold

    rule = next((r for r in rules if r.get("signal") == "error_ratio"), None)
    if rule is not None:
        return float(rule["threshold"]), (
            f"error_ratio threshold {float(rule['threshold']):g}: step 10's alert rule {rule.get('alert')} "
            f"({rule.get('explanation', '')}); step 07's canary ceiling (thresholds.error_ratio_p1) is {ceiling:g}.")
    base, after = base.dropna(), after.dropna()
    if base.empty or after.empty:
        return None, ""
    top, level = float(base.max()), float(after.median())
    threshold = round_threshold((top + level) / 2, top, level)
    why = next((f" Step 10 derived no error-ratio rule: {r.removeprefix('error_ratio: ')}." for r in skipped
                if r.startswith("error_ratio")), " Step 10 derived no error-ratio rule.")
    return threshold, (
        f"error_ratio threshold {threshold:g}: midway between the pre-onset maximum {top:.3g} and the incident "
        f"median {level:.3g} (after the onset), rounded.{why} Step 07's canary ceiling (thresholds.error_ratio_p1) "
        f"is {ceiling:g}; this test checks that the recorded baseline stays below the threshold and the incident "
        "crosses it.")


def resilience_checks(inv: Investigation) -> list[str]:
    """Checks suggested by what this incident showed."""
    checks = []
    broken = inv.finding("broken") or {}
    exhaustion = inv.finding("exhaustion") or {}
    if broken.get("oom_killed") or exhaustion.get("verdict", "").startswith("growing"):
        checks.append("a soak test that runs the service for 1 h at production load and asserts memory stays flat "
                      "(every in-process cache bounded by size or TTL)")
        checks.append("memory limit alarms at 80% of the limit, before the OOM kill")
    suspects = inv.finding("suspects") or []
    if suspects and suspects[0].get("kind") == "rollout":
        checks.append("a canary stage with automatic rollback on error-ratio and restart gates (step 07's gates)")
    checks.append("readiness probes that fail when the service cannot serve, so traffic leaves a dying pod")
    return checks


def test_file(inv: Investigation) -> Answer:
    from ..analysis.regression import generate_regression_tests

    ans = Answer("The incident's signature as a pytest file")
    sig = signature(inv)
    try:
        text = generate_regression_tests(sig)
    except ValueError as exc:
        return ans.lack(str(exc))
    write_text(inv.run_dir / TEST_FILE, text)
    ans.say(f"Written to {TEST_FILE} in the run. Copy it into the service's test suite.")
    if sig.threshold_note:
        ans.say(f"Threshold: {sig.threshold_note}")
    ans.code = text
    return ans


def validate(inv: Investigation) -> Answer:
    ans = Answer("Does the generated file compile and pass?")
    path = inv.run_dir / TEST_FILE
    if not path.is_file():
        return ans.lack("no test file was generated")
    table = run_tools([path], [("compile", [sys.executable, "-m", "py_compile", path.name]),
                               ("pytest", [sys.executable, "-m", "pytest", "-q", "--color=no", "-p", "no:cacheprovider", path.name])])
    passed = all_passed(table)
    ans.say("The file compiles and its tests pass on the incident's own data." if passed else
            "The generated file failed: see the output.")
    inv.record("regression_tests_valid", passed, summary="compiles and passes" if passed else "FAILED")
    return ans.table("Checks", table)


def resilience(inv: Investigation) -> Answer:
    ans = Answer("Resilience checks to add")
    for check in resilience_checks(inv):
        ans.say(f"• {check}")
    return ans
