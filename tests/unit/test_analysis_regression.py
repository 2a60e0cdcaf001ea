"""The generated regression file compiles, runs with pytest and fails when the signature no longer holds."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from irlib.analysis.regression import RegressionSignature, generate_regression_tests, template_regex
from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]


def signature(**changes: object) -> RegressionSignature:
    base = dict(
        incident_id="inc-42", service="checkout",
        template="Connection to <*> timed out after <NUM> ms",
        failing_lines=["2026-03-01T11:15:02Z ERROR Connection to db-1:5432 timed out after 3000 ms",
                       "2026-03-01T11:15:09Z ERROR Connection to db-2:5432 timed out after 3001 ms",
                       'evil """ line \\ with ``` {braces} Connection to x timed out after 1 ms'],
        healthy_lines=["2026-03-01T10:00:00Z INFO Connection to db-1:5432 established",
                       "2026-03-01T10:01:00Z INFO request served in 12 ms"],
        metric="error_ratio", threshold=0.16, direction="up",
        baseline_values=[0.01, 0.012, float("nan"), 0.009], incident_values=[0.31, 0.30, 0.32, 0.29, 0.01],
        resilience_checks=["the client retries a timed-out DB connection with back-off",
                           'a """quoted""" check'])
    base.update(changes)
    return RegressionSignature(**base)  # type: ignore[arg-type]


def run_generated(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "test_incident_regression.py"
    path.write_text(text)
    compiled = subprocess.run([sys.executable, "-m", "py_compile", str(path)], capture_output=True, text=True,
                              timeout=60)
    assert compiled.returncode == 0, compiled.stderr
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
                           str(tmp_path), str(path)], capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_template_regex() -> None:
    pattern = re.compile(template_regex("Connection to <*> timed out after <NUM> ms"))
    assert pattern.search("x Connection to db:1 timed  out after 30 ms")
    assert not pattern.search("Connection to db established")
    assert re.compile(template_regex("<*> a.b (c) <*>")).search("z a.b (c) y")
    assert not re.compile(template_regex("a.b")).search("axb")


def test_generated_file_compiles_and_passes(tmp_path: Path) -> None:
    text = generate_regression_tests(signature())
    assert "the client retries a timed-out DB connection with back-off" in text
    done = run_generated(tmp_path, text)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout


def test_generated_tests_fail_when_the_signature_is_wrong(tmp_path: Path) -> None:
    text = generate_regression_tests(signature(threshold=0.011))  # a baseline value is above it
    done = run_generated(tmp_path, text)
    assert done.returncode == 1 and "test_threshold_is_quiet_on_the_baseline" in done.stdout


def test_template_only_and_metric_only(tmp_path: Path) -> None:
    only_template = generate_regression_tests(signature(metric=None))
    assert "THRESHOLD" not in only_template
    assert "2 passed" in run_generated(tmp_path, only_template).stdout
    only_metric = generate_regression_tests(signature(template=None))
    assert "TEMPLATE" not in only_metric
    assert "3 passed" in run_generated(tmp_path, only_metric).stdout


def test_healthy_lines_matching_the_template_are_noted_and_left_out() -> None:
    text = generate_regression_tests(signature(healthy_lines=["Connection to a timed out after 5 ms", "ok"]))
    assert "1 pre-onset line also matched the template" in text


def test_nothing_to_test_is_refused() -> None:
    with pytest.raises(ValueError, match="nothing to test"):
        generate_regression_tests(signature(template=None, metric=None))
    with pytest.raises(ValueError, match="no failing line"):
        generate_regression_tests(signature(failing_lines=["unrelated"]))
    with pytest.raises(ValueError, match="needs a threshold"):
        generate_regression_tests(signature(threshold=None))


def test_template_regex_matches_real_lines_of_their_ground_truth_template() -> None:
    lines = pd.read_csv(FIXTURES / "analysis" / "openssh_2k_sample.csv")
    for template, group in lines.groupby("EventTemplate"):
        pattern = re.compile(template_regex(str(template)))
        assert all(pattern.search(line) for line in group["Content"]), template
    accepted = lines[lines["EventId"] == "E1"]["Content"]
    failed = re.compile(template_regex("Failed password for <*> from <*> port <*> ssh2"))
    assert len(accepted) and not any(failed.search(line) for line in accepted)


def test_generation_notes_agree_in_number() -> None:
    sig = signature(failing_lines=["ERROR Connection to db-1 timed out after 3 ms", "unrelated"],
                    healthy_lines=["Connection to db-1 timed out after 2 ms", "ok"])
    text = generate_regression_tests(sig)
    assert "1 sample failing line did not match" in text and "1 pre-onset line also matched" in text
    assert "(s)" not in text


def test_threshold_is_rounded_and_explained_in_the_generated_file(tmp_path: Path) -> None:
    from irlib.analysis.regression import round_threshold

    assert round_threshold(0.09305993690851735, 0.002, 0.185) == 0.09
    assert round_threshold(0.0305, 0.03, 0.031) == 0.0305
    text = generate_regression_tests(signature(threshold=0.16, threshold_note="error_ratio threshold 0.16: "
                                               "midway between the pre-onset maximum\nTHRESHOLD = 9 and more"))
    assert "# error_ratio threshold 0.16: midway between the pre-onset maximum THRESHOLD = 9 and more\n" \
           "THRESHOLD = 0.16\n" in text
    assert "3 passed" in run_generated(tmp_path, generate_regression_tests(signature(template=None,
                                                                                     threshold_note="x"))).stdout
