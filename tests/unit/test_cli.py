"""The CLI: bad parameter files exit 2 with one message naming the file and the key, and write nothing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from irlib.cli import main

GOOD = """
incident: {id: cli-test, title: CLI test, declared_at: "2026-11-20T14:30:00Z"}
window: {start: "2026-11-20T13:00:00Z", end: "2026-11-20T15:00:00Z"}
service: {name: checkout, namespace: shop}
"""
BAD = {
    "unknown key": (GOOD + "colour: blue\n", "colour"),
    "wrong type": (GOOD.replace("namespace: shop", "namespace: [shop]"), "service.namespace"),
    "naive timestamp": (GOOD.replace('declared_at: "2026-11-20T14:30:00Z"', 'declared_at: "2026-11-20T14:30:00"'),
                        "incident.declared_at"),
    "end before start": (GOOD.replace('end: "2026-11-20T15:00:00Z"', 'end: "2026-11-20T12:00:00Z"'), "window.end"),
    "incident id escaping reports/": (GOOD.replace("id: cli-test", 'id: ".."'), "incident.id"),
    "missing log file": (GOOD + "sources: {logs: [{name: app, path: /nonexistent/app.log}]}\n", "sources.logs[0].path"),
    "step that is not a duration": (GOOD + "sources: {prometheus: {url: 'http://p:9090', step: banana}}\n",
                                    "sources.prometheus.step"),
    "fractional user count": (GOOD.replace("namespace: shop", "namespace: shop, users_total: 1000.7"),
                              "service.users_total"),
    "replay of a missing run": (GOOD + "sources: {replay: /nonexistent/run}\n", "sources.replay"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_parameters_exit_2_and_write_nothing(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text, key = BAD[case]
    params = tmp_path / "incident.yaml"
    params.write_text(text)
    reports = tmp_path / "reports"
    assert main(["run", str(params), "--reports", str(reports)]) == 2
    err = capsys.readouterr().err
    assert str(params) in err and key in err, err
    assert len(err.strip().splitlines()) == 1
    assert not reports.exists()


def test_missing_parameters_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nope.yaml"), "--reports", str(tmp_path / "r")]) == 2
    assert "nope.yaml" in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_unknown_step_and_bad_jobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    params = tmp_path / "incident.yaml"
    params.write_text(GOOD)
    assert main(["run", str(params), "--steps", "01,42", "--reports", str(tmp_path / "r")]) == 2
    assert "42" in capsys.readouterr().err
    assert main(["run", str(params), "--jobs", "0", "--reports", str(tmp_path / "r")]) == 2
    assert not (tmp_path / "r").exists()


def test_replay_argument_that_is_not_a_run_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    params = tmp_path / "incident.yaml"
    params.write_text(GOOD)
    (tmp_path / "not-a-run").mkdir()
    for replay in (str(tmp_path / "missing"), str(tmp_path / "not-a-run")):
        assert main(["run", str(params), "--replay", replay, "--reports", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"irlib: argument --replay: {replay} ") and "evidence/" in err, err
        assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_verify_on_a_non_directory_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "argument RUN_DIR" in err and "key" not in err and "give a run directory" in err


def test_notebook_default_parameters_are_the_demo_from_any_directory(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from irlib.investigation import open_investigation

    monkeypatch.chdir(tmp_path)  # not inside the project: the notebooks' default params="" still finds the demo
    inv = open_investigation("", run_dir=str(tmp_path / "run"), step="01", now="2026-11-20T15:00:00Z")
    assert inv.incident.id == "demo-orders-oom" and (tmp_path / "run").is_dir()


def test_console_script_is_installed() -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "irlib"), "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "demo" in done.stdout and "verify" in done.stdout
