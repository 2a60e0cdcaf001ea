"""SIGKILL the runner (``irlib run`` as a subprocess) at several points of a run: every file that survives is
complete, and ``irlib verify`` agrees with the manifest when there is one, or says clearly that the run has none.

The run is steps 01 and 02 of a small live incident (Kubernetes stand-in and a log file; Prometheus is left out to
keep it fast: its fetches are recorded as unavailable).  The runner process alone is killed, as the OOM killer
would; its worker processes and their kernels must die with it within 5 s (an orphaned worker would keep writing
into the run), and any that do not are reported, then killed by pid.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import psutil
import pytest
import yaml

from irlib.fsutil import is_temp_name
from tests.support import live

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def params(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("kill")
    text = live.WorldText(log_lines=[f"ERROR payment gateway timeout order={i}" for i in range(40)])
    standin = live.standin(text)
    standin.start()
    data = live.params(incident_id="INC-KILL", kubeconfig=standin.kubeconfig(tmp / "kubeconfig"),
                       log_file=live.write_log_file(tmp / "app.log", text))
    yield live.write_params(tmp / "incident.yaml", data)
    standin.stop()


def start_runner(params: Path, reports: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "irlib.cli", "run", str(params), "--steps", "01,02", "--reports", str(reports)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def kill_runner(proc: subprocess.Popen[bytes]) -> list[str]:
    """SIGKILL the runner alone; return the descendants (workers, kernels) still alive 5 s later, killed by pid."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    _, alive = psutil.wait_procs(children, timeout=5)
    survivors = [f"{c.pid} {' '.join(c.cmdline()[1:3])}" for c in alive if _running(c)]
    for child in alive:
        try:
            child.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=10)
    return survivors


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_for(predicate: "callable", timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def check_complete(path: Path) -> None:
    """Raise if ``path`` is not a complete file of its kind."""
    suffix = path.suffix
    if suffix in (".json", ".ipynb"):
        data = json.loads(path.read_text(encoding="utf-8"))
        if suffix == ".ipynb":
            assert isinstance(data.get("cells"), list) and data.get("nbformat") == 4
    elif suffix == ".parquet":
        pd.read_parquet(path)
    elif suffix == ".html":
        assert path.read_text(encoding="utf-8").rstrip().endswith("</html>")
    elif suffix == ".yaml":
        yaml.safe_load(path.read_text(encoding="utf-8"))
    else:
        assert path.stat().st_size > 0


def verify(run_dir: Path) -> subprocess.CompletedProcess[str]:
    return live.run_cli(["verify", str(run_dir)], timeout_s=60)


def first_step_output(reports: Path) -> bool:
    return any(reports.glob("*/*/notebooks/*.ipynb"))


KILL_POINTS = {"0.5s": 0.5, "4s": 4.0, "writing-report": None}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_leaves_complete_files_and_an_honest_verify(point: str, params: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    proc = start_runner(params, reports)
    delay = KILL_POINTS[point]
    if delay is None:
        assert wait_for(lambda: first_step_output(reports), 60), "the runner never wrote a step's notebook"
    else:
        time.sleep(delay)
    if proc.poll() is not None:
        pytest.fail(f"the run finished before the kill at {point}; the kill point is too late")
    survivors = kill_runner(proc)
    assert survivors == [], f"the runner's workers/kernels outlived it and may keep writing: {survivors}"
    runs = live.run_dirs(reports)
    assert len(runs) <= 1
    if not runs:  # killed before it created its run directory
        return
    run_dir = runs[0]
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    leftovers = [p for p in files if is_temp_name(p.name)]
    for path in files:
        if path not in leftovers:
            check_complete(path)
    done = verify(run_dir)
    has_manifest = (run_dir / "manifest.json").is_file()
    print(f"kill at {point}: {len(files) - len(leftovers)} complete file(s), {len(leftovers)} temporary leftover(s), "
          f"manifest {'yes' if has_manifest else 'no'}, verify exit {done.returncode}")
    if has_manifest and json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["complete"]:
        assert done.returncode == 0, done.stdout
        assert done.stdout.startswith("OK")
    elif has_manifest:  # a checkpoint manifest: what it lists verifies; the run is reported incomplete
        assert done.returncode == 1, done.stdout
        assert done.stdout.startswith("INCOMPLETE RUN"), done.stdout
        assert "edited:" not in done.stdout and "missing:" not in done.stdout, done.stdout
    else:
        assert done.returncode == 1, done.stdout
        assert "NOT VERIFIED" in done.stdout and "no manifest.json" in done.stdout and "killed" in done.stdout
    state = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert state["complete"] is False or has_manifest


def test_unkilled_run_verifies(params: Path, tmp_path: Path) -> None:
    """The control: the same run left alone completes and verifies."""
    reports = tmp_path / "reports"
    proc = start_runner(params, reports)
    assert proc.wait(timeout=180) in (0, 1)
    (run_dir,) = live.run_dirs(reports)
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert not is_temp_name(path.name)
            check_complete(path)
    done = verify(run_dir)
    assert done.returncode == 0 and "run complete" in done.stdout, done.stdout
