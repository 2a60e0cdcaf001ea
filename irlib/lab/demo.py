"""Record the demo bundle from a real lab run of scenario 1 (unbounded cache release → OOMKilled → outage).

Unlike the webhook path (which runs the evidence steps the moment the first alert fires), the recording lets the
incident develop — several OOM kills, the crash loop, the error rate climbing to an outage — and then runs all
twelve steps against the live lab, so every fetch any notebook makes is in the bundle.  The bundle is the run's
``evidence/`` plus the ground truth; ``parameters/demo.yaml`` points at it with ``sources.replay: irlib:demo``.
"""
from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..analysis.text import counted
from ..errors import IrlibError
from ..fsutil import write_text
from ..runner import RunResult, run_incident
from .lab import Lab
from .scenarios import GroundTruth, inject

DEMO_ID = "demo-orders-oom"
DEMO_TITLE = "orders: OOMKilled in a loop after the v2 release (recorded from the irlib lab)"


def wait_for_restarts(lab: Lab, count: int, timeout_s: float) -> int:
    """Block until the service's containers restarted ``count`` times in total (or the timeout); return the count."""
    deadline = time.monotonic() + timeout_s
    seen = 0
    while time.monotonic() < deadline and not lab.stopping.is_set():
        pods = list(lab.kubelet.pods.values()) if lab.kubelet else []
        seen = sum(c.restart_count for p in pods for c in p.containers)
        if seen >= count:
            break
        lab.stopping.wait(2.0)
    return seen


def demo_params(lab: Lab, truth: GroundTruth, now: pd.Timestamp, before_s: float) -> dict[str, Any]:
    """The lab's parameters for the recording: a fixed window from ``before_s`` before the injection to now."""
    params = yaml.safe_load(lab.params_path.read_text(encoding="utf-8"))
    start = pd.Timestamp(truth.injected_at) - pd.Timedelta(seconds=before_s)
    params["incident"] = {"id": DEMO_ID, "title": DEMO_TITLE, "declared_at": now.isoformat(),
                          "summary": "orders pods OOMKilled repeatedly after the v2 release; clients get 503s",
                          "commander": "on-call (demo)"}
    params["window"] = {"start": start.isoformat(), "end": now.isoformat()}
    params["thresholds"] = {**params.get("thresholds", {}), "lookback_min": 10}
    return params


def record(lab: Lab, bundle: Path, params_out: Path, *, baseline_s: float = 240.0, restarts: int = 5,
           develop_timeout_s: float = 720.0, say: Callable[[str], None] = lambda _: None) -> RunResult:
    """On a started lab: baseline, inject scenario 1, let it develop, run all twelve steps, write the bundle."""
    say(f"baseline traffic for {baseline_s:.0f} s")
    lab.stopping.wait(baseline_s)
    truth = inject(lab, 1)
    say(f"injected scenario 1 at {truth.injected_at}; waiting for {restarts} restarts")
    seen = wait_for_restarts(lab, restarts, develop_timeout_s)
    if seen < restarts:
        raise IrlibError(f"only {counted(seen, 'restart')} within {develop_timeout_s:.0f} s; the demo was not recorded")
    lab.stopping.wait(20.0)  # let Prometheus scrape the last restart
    truth.expected_severity = "P0"  # five OOM kills in, the crash loop leaves clients with 5xx most of the time
    truth.notes.append(f"recorded after {seen} restarts: the error ratio reaches an outage (P0)")
    now = pd.Timestamp.now(tz="UTC")
    workdir = lab.workdir / "demo-recording"
    workdir.mkdir(exist_ok=True)
    params_path = workdir / "demo-live.yaml"
    write_text(params_path, yaml.safe_dump(demo_params(lab, truth, now, max(60.0, baseline_s - 90.0)), sort_keys=False))
    say("running all twelve steps against the live lab")
    result = run_incident(params_path, reports_dir=workdir / "reports", jobs=2, now=now, progress=say)
    write_bundle(result.run_dir, truth, bundle, params_path, params_out)
    return result


def write_bundle(run_dir: Path, truth: GroundTruth, bundle: Path, live_params: Path, params_out: Path) -> None:
    """Copy the run's evidence and the ground truth into the bundle; write the replay parameters."""
    source = run_dir / "evidence"
    if not source.is_dir():
        raise IrlibError(f"the recording run has no evidence directory ({source})")
    if (bundle / "evidence").exists():
        shutil.rmtree(bundle / "evidence")
    shutil.copytree(source, bundle / "evidence")
    write_text(bundle / "ground_truth.json", json.dumps(truth.to_dict(), indent=2, sort_keys=True) + "\n")
    live = yaml.safe_load(live_params.read_text(encoding="utf-8"))
    sources = live["sources"]
    replay = {"replay": "irlib:demo", "prometheus": sources["prometheus"], "kubernetes": {"timeout_s": 10},
              "databases": sources["databases"]}
    params = {**{k: v for k, v in live.items() if k != "sources"}, "sources": replay}
    header = ("# The demo incident: a recording of the irlib lab's scenario 1 (an unbounded cache released as v2:\n"
              "# memory grows to the limit, the container is OOMKilled in a loop, clients get 503s), replayed from\n"
              "# irlib/demo/bundle with no server.  Re-record with `irlib lab record-demo` (about 10 minutes).\n")
    write_text(params_out, header + yaml.safe_dump(params, sort_keys=False))
