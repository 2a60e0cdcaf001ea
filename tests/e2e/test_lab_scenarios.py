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

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import serving

pytestmark = [pytest.mark.slow, pytest.mark.server]
BASELINE_S = 270.0  # past the lab's warm-up plus the webhook's 4-minute look-back: the window starts warm, and the
#                     initial release is older than the 2-minute suspect look-back
RUN_TIMEOUT_S = 420.0


@pytest.fixture()
def lab(tmp_path: Path) -> Iterator[Any]:
    from irlib.lab.lab import Lab

    with serving(Lab(tmp_path / "lab").start) as lab:
        yield lab


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5])
def test_scenario_findings_match_ground_truth(lab: Any, number: int) -> None:
    from irlib.lab.scenarios import run_scenario
    from irlib.lab.truth import checks_against_truth, findings_of_run

    run = run_scenario(lab, number, baseline_s=BASELINE_S, timeout_s=RUN_TIMEOUT_S)
    truth = run.truth
    assert run.status.get("state") == "done", run.status
    assert (Path(run.incident_dir) / "params.yaml").is_file()
    checks = checks_against_truth(truth, findings_of_run(run.run_dir))
    assert [c.what for c in checks] == ["onset", "top suspect", "severity", "top error"]
    missed = [c for c in checks if not c.ok]
    assert not missed, "findings miss the ground truth: " + "; ".join(
        f"{c.what}: expected {c.expected}, found {c.found}" for c in missed)
