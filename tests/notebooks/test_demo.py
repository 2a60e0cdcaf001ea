"""All twelve notebooks on the embedded demo incident (papermill inside pytest), and what each produced.

The demo is a replay of the bundle recorded from the lab's scenario 1; its ground truth travels with it
(irlib/demo/bundle/ground_truth.json).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from irlib.manifest import verify_run
from irlib.runner import RunResult, run_incident
from irlib.steps_catalog import STEPS

ROOT = Path(__file__).resolve().parent.parent.parent
BUNDLE = ROOT / "irlib" / "demo" / "bundle"
PARAMS = ROOT / "parameters" / "demo.yaml"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_incident(PARAMS, jobs=2, reports_dir=tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((BUNDLE / "ground_truth.json").read_text())


def _finding(result: RunResult, name: str) -> object:
    path = result.run_dir / "findings" / f"{name}.json"
    assert path.is_file(), f"finding {name} was not recorded"
    return json.loads(path.read_text())["value"]


def test_every_step_ran(demo: RunResult) -> None:
    assert dict(demo.steps) == {s.number: "ok" for s in STEPS}
    assert demo.exit_code == 0
    for step in STEPS:
        html = (demo.run_dir / "html" / f"{step.name}.html").read_text()
        assert "This step failed" not in html and "TODO" not in html
        nb = json.loads((demo.run_dir / "notebooks" / step.notebook).read_text())
        outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
        assert not [o for o in outputs if o.get("output_type") == "error"], step.name


def test_onset_within_two_minutes(demo: RunResult, truth: dict) -> None:
    onset = _finding(demo, "onset")
    assert onset["time"], onset
    assert abs(pd.Timestamp(onset["time"]) - pd.Timestamp(truth["onset"])) <= pd.Timedelta(minutes=2)


def test_bad_rollout_ranked_first(demo: RunResult, truth: dict) -> None:
    suspects = _finding(demo, "suspects")
    assert suspects, "no suspect"
    top = suspects[0]
    assert top["kind"] == truth["trigger"]["kind"]
    assert truth["trigger"]["match"] in f"{top['name']} {top['detail']}"


def test_severity_and_oom_prediction(demo: RunResult, truth: dict) -> None:
    assert _finding(demo, "severity")["level"] == truth["expected_severity"]
    exhaustion = _finding(demo, "exhaustion")
    assert exhaustion["slope_per_hour"] and exhaustion["slope_per_hour"] > 0
    assert "OOM" in exhaustion["summary"] or "limit" in exhaustion["summary"]
    broken = _finding(demo, "broken")
    assert broken["oom_killed"] >= 1 and broken["restarts"] >= 1


def test_every_step_counts_the_five_oom_kills_the_events_record(demo: RunResult) -> None:
    # the pod status keeps only the last termination; the events hold every OOM kill of the recording
    assert _finding(demo, "broken")["oom_text"] == "5 OOM kills"
    assert "5 container restarts, 5 OOM kills" in (demo.run_dir / "postmortem.md").read_text()
    step03 = (demo.run_dir / "html" / "03-deep-debugging.html").read_text()
    assert "5 OOM kills (exit code 137)" in step03 and "1 container OOMKilled" not in step03


def test_postmortem_has_no_empty_section(demo: RunResult) -> None:
    text = (demo.run_dir / "postmortem.md").read_text()
    sections = [s for s in text.split("\n## ")[1:]]
    assert len(sections) >= 8
    for section in sections:
        title, _, body = section.partition("\n")
        assert body.strip(), f"empty section {title!r}"


def test_generated_artifacts_are_valid(demo: RunResult) -> None:
    assert _finding(demo, "regression_tests_valid") is True
    if shutil.which("promtool"):
        assert _finding(demo, "alert_rules_valid") is True


def test_report_index_and_verify(demo: RunResult, tmp_path: Path) -> None:
    index = demo.index_html.read_text()
    assert "P" in index and "Evidence manifest" in index and "http://" not in index.split("</head>")[0]
    assert verify_run(demo.run_dir).ok
    copy = tmp_path / "run"
    shutil.copytree(demo.run_dir, copy)
    target = sorted((copy / "evidence").glob("*.parquet"))[0]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    result = verify_run(copy)
    assert not result.ok and any(target.name in str(e) for e in result.edited)
