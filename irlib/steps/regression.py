"""Step 11: the incident's signature as a runnable pytest file, validated, plus the resilience checks to add."""
from __future__ import annotations

import sys

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
    rules = inv.finding("alert_rules") or []
    threshold = next((float(r["threshold"]) for r in rules if r.get("signal") == "error_ratio"), None)
    if threshold is None and len(base) and len(after):
        threshold = float((base.max() + after.median()) / 2)
    return RegressionSignature(
        incident_id=inv.incident.id, service=inv.incident.service["name"], template=template,
        failing_lines=failing, healthy_lines=healthy, metric="error_ratio" if threshold is not None else None,
        threshold=threshold, direction="up", baseline_values=list(base.dropna().to_numpy()[-200:]),
        incident_values=list(after.dropna().to_numpy()[:200]), resilience_checks=resilience_checks(inv))


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
    try:
        text = generate_regression_tests(signature(inv))
    except ValueError as exc:
        return ans.lack(str(exc))
    write_text(inv.run_dir / TEST_FILE, text)
    ans.say(f"Written to {TEST_FILE} in the run. Copy it into the service's test suite.")
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
