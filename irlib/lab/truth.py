"""A scenario run's findings compared with the scenario's ground truth, check by check (pure: no I/O but reading).

The checks are the ones the end-to-end tests hold the runbook to: the onset within ``ONSET_TOLERANCE_S`` of the true
onset, the injected trigger ranked first among the suspects (nothing blamed when there is no trigger), the expected
severity, and the top error template containing the expected text (no template when no errors are expected).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .scenarios import GroundTruth

ONSET_TOLERANCE_S = 120.0


@dataclass(frozen=True)
class TruthCheck:
    """One comparison: what was checked, what the ground truth expects, what the run found, and whether they agree."""

    what: str
    expected: str
    found: str
    ok: bool


def findings_of_run(run_dir: str | Path) -> dict[str, Any]:
    """Each finding's value in a run directory, by finding name (empty when the run wrote no findings)."""
    folder = Path(run_dir) / "findings"
    if not folder.is_dir():
        return {}
    return {p.stem: json.loads(p.read_text(encoding="utf-8")).get("value") for p in sorted(folder.glob("*.json"))}


def suspect_matches(suspect: dict[str, Any], trigger: dict[str, str]) -> bool:
    """Whether a suspect is the injected trigger: same kind, and its name or detail contains the trigger's match."""
    text = f"{suspect.get('name', '')} {suspect.get('detail', '')}"
    return suspect.get("kind") == trigger.get("kind") and str(trigger.get("match", "")) in text


def checks_against_truth(truth: GroundTruth, found: dict[str, Any],
                         onset_tolerance_s: float = ONSET_TOLERANCE_S) -> list[TruthCheck]:
    """The four checks of a scenario run's findings against its ground truth, in the order a reader asks them."""
    return [_onset_check(truth, found, onset_tolerance_s), _suspect_check(truth, found),
            _severity_check(truth, found), _top_error_check(truth, found)]


def _onset_check(truth: GroundTruth, found: dict[str, Any], tolerance_s: float) -> TruthCheck:
    onset = found.get("onset") or {}
    expected = f"{truth.onset} ± {tolerance_s:.0f} s"
    if not onset.get("time"):
        return TruthCheck("onset", expected, "none established", False)
    error_s = abs((pd.Timestamp(onset["time"]) - pd.Timestamp(truth.onset)).total_seconds())
    return TruthCheck("onset", expected, f"{onset['time']} ({error_s:.0f} s off)", error_s <= tolerance_s)


def _suspect_check(truth: GroundTruth, found: dict[str, Any]) -> TruthCheck:
    suspects = [s for s in (found.get("suspects") or []) if isinstance(s, dict)]
    top = f"{suspects[0].get('kind')}: {suspects[0].get('name')}" if suspects else "none"
    if truth.trigger is None:
        return TruthCheck("top suspect", "nothing blamed", top, not suspects)
    expected = f"{truth.trigger.get('kind')} containing {truth.trigger.get('match')!r}"
    return TruthCheck("top suspect", expected, top, bool(suspects) and suspect_matches(suspects[0], truth.trigger))


def _severity_check(truth: GroundTruth, found: dict[str, Any]) -> TruthCheck:
    level = (found.get("severity") or {}).get("level")
    return TruthCheck("severity", truth.expected_severity, str(level or "none"), level == truth.expected_severity)


def _top_error_check(truth: GroundTruth, found: dict[str, Any]) -> TruthCheck:
    template = (found.get("top_error_template") or {}).get("template") or ""
    if truth.expected_top_error is None:
        return TruthCheck("top error", "no error template", template or "none", not template)
    expected = f"contains {truth.expected_top_error!r}"
    return TruthCheck("top error", expected, template or "none", truth.expected_top_error in template)
