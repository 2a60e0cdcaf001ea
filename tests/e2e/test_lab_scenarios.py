"""End to end, per scenario: a fresh lab, baseline traffic, the injected failure, the alert firing in Prometheus
and Alertmanager, the webhook declaring the incident and running the evidence steps, and the run's findings
checked against the scenario's ground truth:

- onset within two minutes of the true onset;
- the injected trigger ranked first among the suspects (nothing blamed in scenario 5);
- the severity as expected;
- the top error template containing the expected text (no error template expected in scenario 5).

Each scenario takes about 3-5 minutes (2 cores); run them with ``make test-e2e`` or ``pytest -m slow tests/e2e``.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from irlib.servers import ServerMissing
from tests.conftest import missing_server

pytestmark = [pytest.mark.slow, pytest.mark.server]
BASELINE_S = 270.0  # past the lab's warm-up plus the webhook's 4-minute look-back: the window starts warm, and the
#                     initial release is older than the 2-minute suspect look-back
RUN_TIMEOUT_S = 420.0


@pytest.fixture()
def lab(tmp_path: Path) -> Iterator[Any]:
    from irlib.lab.lab import Lab

    lab = Lab(tmp_path / "lab")
    try:
        lab.start()
    except ServerMissing as exc:
        missing_server(str(exc))
    try:
        yield lab
    finally:
        lab.stop()


def findings(run_dir: str) -> dict[str, Any]:
    folder = Path(run_dir) / "findings"
    return {p.stem: json.loads(p.read_text())["value"] for p in folder.glob("*.json")} if folder.is_dir() else {}


def matches(suspect: dict[str, Any], trigger: dict[str, str]) -> bool:
    text = f"{suspect.get('name', '')} {suspect.get('detail', '')}"
    return suspect.get("kind") == trigger["kind"] and trigger["match"] in text


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5])
def test_scenario_findings_match_ground_truth(lab: Any, number: int) -> None:
    from irlib.lab.scenarios import run_scenario

    run = run_scenario(lab, number, baseline_s=BASELINE_S, timeout_s=RUN_TIMEOUT_S)
    truth = run.truth
    assert run.status.get("state") == "done", run.status
    assert (Path(run.incident_dir) / "params.yaml").is_file()
    found = findings(run.run_dir)

    onset = found.get("onset") or {}
    assert onset.get("time"), f"no onset found: {onset}"
    error_s = abs((pd.Timestamp(onset["time"]) - pd.Timestamp(truth.onset)).total_seconds())
    assert error_s <= 120, f"onset {onset['time']} is {error_s:.0f} s from the true onset {truth.onset}"

    suspects = found.get("suspects") or []
    if truth.trigger is None:
        assert suspects == [], f"nothing should be blamed in a slow burn, got {suspects[:2]}"
    else:
        assert suspects, "no suspect ranked"
        assert matches(suspects[0], truth.trigger), f"top suspect {suspects[0]} is not {truth.trigger}"

    assert (found.get("severity") or {}).get("level") == truth.expected_severity, found.get("severity")

    template = (found.get("top_error_template") or {}).get("template")
    if truth.expected_top_error is None:
        assert not template, f"no errors expected, got the template {template!r}"
    else:
        assert template and truth.expected_top_error in template, \
            f"top error template {template!r} does not contain {truth.expected_top_error!r}"
