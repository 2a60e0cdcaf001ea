"""A scenario run's findings against its ground truth: each check agrees only when the finding does."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from irlib.lab.scenarios import GroundTruth
from irlib.lab.truth import checks_against_truth, findings_of_run

ROLLOUT = GroundTruth(2, "broken endpoint", "2026-03-01T10:00:00+00:00", "2026-03-01T10:00:05+00:00",
                      {"kind": "rollout", "match": "revision 2"}, "P1", "KeyError", ["OrdersErrorRatioHigh"])
SLOW_BURN = GroundTruth(5, "slow burn", "2026-03-01T10:00:00+00:00", "2026-03-01T10:00:00+00:00", None, "P1", None,
                        ["OrdersLatencyHigh"])
GOOD: dict[str, Any] = {
    "onset": {"time": "2026-03-01T10:01:00+00:00", "confidence": 0.7},
    "suspects": [{"kind": "rollout", "name": "deployment/orders revision 2", "detail": "image orders:v3"},
                 {"kind": "alert", "name": "OrdersErrorRatioHigh", "detail": ""}],
    "severity": {"level": "P1"},
    "top_error_template": {"template": "KeyError: 'currency' in <*>"},
}


def test_a_run_that_found_everything_agrees_on_every_check() -> None:
    checks = checks_against_truth(ROLLOUT, GOOD)
    assert [c.what for c in checks] == ["onset", "top suspect", "severity", "top error"]
    assert all(c.ok for c in checks), checks
    assert "55 s off" in checks[0].found


def test_each_miss_is_named_with_what_was_expected_and_found() -> None:
    wrong = {**GOOD, "onset": {"time": "2026-03-01T10:05:00+00:00"}, "severity": {"level": "P2"},
             "suspects": list(reversed(GOOD["suspects"])), "top_error_template": {"template": "timeout <*>"}}
    checks = {c.what: c for c in checks_against_truth(ROLLOUT, wrong)}
    assert not any(c.ok for c in checks.values())
    assert checks["onset"].found.endswith("(295 s off)")
    assert checks["top suspect"].found == "alert: OrdersErrorRatioHigh"
    assert (checks["severity"].expected, checks["severity"].found) == ("P1", "P2")
    assert checks["top error"].found == "timeout <*>"


def test_missing_findings_are_misses_not_errors() -> None:
    checks = checks_against_truth(ROLLOUT, {})
    assert [c.found for c in checks] == ["none established", "none", "none", "none"]
    assert not any(c.ok for c in checks)


def test_a_slow_burn_agrees_only_when_nothing_is_blamed_and_no_error_template() -> None:
    quiet = {**GOOD, "suspects": [], "top_error_template": {}}
    assert all(c.ok for c in checks_against_truth(SLOW_BURN, {**quiet, "onset": {"time": SLOW_BURN.onset}}))
    blamed = {c.what: c.ok for c in checks_against_truth(SLOW_BURN, GOOD)}
    assert blamed == {"onset": True, "top suspect": False, "severity": True, "top error": False}


def test_findings_are_read_from_the_run_directory(tmp_path: Path) -> None:
    (tmp_path / "findings").mkdir()
    for name, value in GOOD.items():
        (tmp_path / "findings" / f"{name}.json").write_text(json.dumps({"step": "01", "value": value}))
    assert findings_of_run(tmp_path) == GOOD
    assert findings_of_run(tmp_path / "absent") == {}


def test_the_scenario_command_prints_each_check_and_fails_on_a_miss(tmp_path: Path, capsys: Any) -> None:
    from irlib.lab.cli import _report_truth
    from irlib.lab.scenarios import ScenarioRun

    (tmp_path / "findings").mkdir()
    for name, value in {**GOOD, "severity": {"level": "P0"}}.items():
        (tmp_path / "findings" / f"{name}.json").write_text(json.dumps({"value": value}))
    run = ScenarioRun(ROLLOUT, "inc-1", {"state": "done", "run_dir": str(tmp_path)}, str(tmp_path))
    assert _report_truth(run) is False
    out = capsys.readouterr().out
    assert "MISS severity     expected P1; found P0" in out and "3 of 4 checks" in out
