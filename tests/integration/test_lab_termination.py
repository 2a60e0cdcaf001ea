"""Stopping `irlib lab up` with SIGTERM (systemd, Kubernetes, timeout) stops every server it started, as Ctrl-C does."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import missing_server

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parent.parent.parent


def _started_under(workdir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(str(workdir) in part for part in proc.info["cmdline"] or []):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_sigterm_stops_the_lab_and_all_its_servers(tmp_path: Path) -> None:
    for binary in ("prometheus", "prometheus-alertmanager"):
        if not shutil.which(binary) and not Path(f"/usr/bin/{binary}").exists():
            missing_server(f"{binary} is not installed")
    workdir = tmp_path / "lab"
    log = (tmp_path / "lab.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "irlib.cli", "lab", "up", "--dir", str(workdir)], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while b"lab is up" not in (tmp_path / "lab.log").read_bytes():
            assert proc.poll() is None, (tmp_path / "lab.log").read_text()
            assert time.monotonic() < deadline, "the lab did not come up in 120 s"
            time.sleep(0.5)
        children = psutil.Process(proc.pid).children(recursive=True)  # PostgreSQL's data dir is elsewhere
        assert len(children) >= 4 and len(_started_under(workdir)) >= 3  # postgres, prometheus, alertmanager, ...
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=90) == 0
        _, alive = psutil.wait_procs(children, timeout=30)
        left = [" ".join(p.cmdline()[:2]) for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert not left, f"still running after SIGTERM: {left}"
        assert not _started_under(workdir)
        assert b"stopping the lab" in (tmp_path / "lab.log").read_bytes()
    finally:  # never leave a server behind, even when the command under test fails to stop them
        for p in [*children, *_started_under(workdir)]:
            if p.is_running():
                p.kill()
        if proc.poll() is None:
            proc.kill()
