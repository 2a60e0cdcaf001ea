"""Run the runbook: execute the step notebooks with papermill into a new run directory and build the report.

``run_incident`` is what ``irlib run``, ``irlib demo`` and the webhook call.  Steps run stage by stage (see
:mod:`irlib.steps_catalog`), in parallel within a stage, each in a worker process with its own kernel, timeout
and memory cap.  A failed step is saved as far as it got and the others still run.
"""
from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .errors import EvidenceError
from .execute import StepOutcome, StepTask, run_step
from .fsutil import write_json, write_text
from .incident import Incident, load_incident
from .investigation import resolve_replay
from .redact import Redactor, redaction_key
from .steps_catalog import EVIDENCE_STEPS, Step, select_steps
from .timeutil import utc_now

if TYPE_CHECKING:
    from .report import RenderedStep

PACKAGE_ROOT = Path(__file__).resolve().parent
DEFAULT_TIMEOUT_S = 300.0
DEFAULT_MEMORY_MB = 2048

Progress = Callable[[str], None]


@dataclass
class RunResult:
    run_dir: Path
    index_html: Path
    steps: list[tuple[str, str]] = field(default_factory=list)
    manifest_hash: str = ""

    @property
    def exit_code(self) -> int:
        return 0 if all(status == "ok" for _, status in self.steps) else 1


def notebooks_dir() -> Path:
    """The runbook notebooks: ``IRLIB_NOTEBOOKS`` if set, else the project's ``notebooks/`` folder."""
    env = os.environ.get("IRLIB_NOTEBOOKS")
    if env:
        return Path(env)
    for candidate in (PACKAGE_ROOT.parent / "notebooks", PACKAGE_ROOT / "notebooks"):
        if candidate.is_dir():
            return candidate
    raise EvidenceError("the runbook notebooks were not found; set IRLIB_NOTEBOOKS to the notebooks/ folder")


def default_reports_dir() -> Path:
    return Path(os.environ.get("IRLIB_REPORTS", PACKAGE_ROOT.parent / "reports"))


def new_run_dir(reports_dir: Path, incident_id: str, clock: pd.Timestamp, suffix: str = "") -> Path:
    """Create and return a new, never-reused run directory ``reports/<incident>/<UTC stamp>[-suffix][-n]``."""
    safe_id = "".join(c if c.isalnum() or c in "-_." else "_" for c in incident_id).strip(".") or "incident"
    stamp = clock.tz_convert("UTC").strftime("%Y%m%dT%H%M%SZ") + (f"-{suffix}" if suffix else "")
    base = Path(reports_dir) / safe_id
    base.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        candidate = base / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            candidate.mkdir()  # atomic: two runs at once never share a directory
            return candidate
        except FileExistsError:
            continue
    raise EvidenceError(f"{base}: could not create a new run directory")


def run_incident(params: Path, *, steps: list[str] | str | None = None, replay: Path | None = None,
                 jobs: int = 2, reports_dir: Path | None = None, now: pd.Timestamp | None = None,
                 progress: Progress | None = None, timeout_s: float | None = None) -> RunResult:
    """Execute the selected steps for the incident in ``params``; always writes the report and manifest."""
    clock = now if now is not None else utc_now()
    incident = load_incident(params, now=clock)
    selected = select_steps(steps)
    bundle = resolve_replay(str(replay) if replay else None, incident)
    run_dir = new_run_dir(reports_dir or default_reports_dir(), incident.id, clock)
    say = progress or (lambda _msg: None)
    state = _initial_state(incident, selected, clock, bundle)
    _save_state(run_dir, state)
    write_text(run_dir / "parameters.yaml", Path(params).read_text(encoding="utf-8"))
    if bundle is None and any(s.number in EVIDENCE_STEPS for s in selected):
        say("[snapshot] fetching the evidence that expires first (events, previous logs, pod statuses)")
        state["snapshot"] = snapshot_expiring(incident, run_dir, clock)
        _save_state(run_dir, state)
    tasks = {s.number: _task(s, incident, run_dir, bundle, clock, timeout_s) for s in selected}
    checkpoint(run_dir, state, "started")

    def finished(step: Step, outcome: StepOutcome, rendered: "RenderedStep") -> None:
        from .report import write_step_outputs

        write_step_outputs(run_dir, step, rendered)
        state["steps"][step.number].update(status=outcome.status, duration_s=round(outcome.duration_s, 2),
                                           error=outcome.error, failed_cell=outcome.failed_cell)
        _save_state(run_dir, state)

    outcomes = _execute(selected, tasks, incident, max(1, jobs), say, finished,
                        lambda stage: checkpoint(run_dir, state, f"stage {stage} done"))
    from .report import build_report

    state["finished_at"] = utc_now().isoformat()
    state["complete"] = True
    _save_state(run_dir, state)
    index, manifest_hash = build_report(run_dir)
    say(f"report: {index}")
    return RunResult(run_dir, index, [(s.number, outcomes[s.number].status) for s in selected], manifest_hash)


def checkpoint(run_dir: Path, state: dict, label: str) -> None:
    """A provisional manifest (``complete: false``): if the runner is killed, what was written so far can still
    be verified; the final manifest replaces it."""
    from .manifest import write_manifest

    write_manifest(run_dir, complete=False, redaction={}, extra={"incident": state["incident"], "checkpoint": label},
                   leave_out=("run.json",))  # the run's state file keeps changing until the final manifest


def snapshot_expiring(incident: Incident, run_dir: Path, clock: pd.Timestamp) -> dict[str, str]:
    """Before any notebook starts, fetch what expires (events, previous container logs, pod statuses) with the
    exact calls the notebooks make, so they reuse this evidence.  Returns each fetch's status."""
    from .investigation import Investigation
    from .steps import common

    inv = Investigation(incident, run_dir, step="00", now=clock)
    common.events(inv), common.pods(inv), common.pod_logs(inv)
    return {f"{r.source}.{r.method}": r.status + (f": {r.reason}" if r.reason else "") for r in inv.used}


def _initial_state(incident: Incident, steps: list[Step], clock: pd.Timestamp, bundle: Path | None) -> dict:
    return {
        "incident": incident.id, "title": incident.title,
        "summary": Redactor(key=redaction_key(), emails=bool(incident.redaction.get("emails")),
                            ips=bool(incident.redaction.get("ips"))).text(
            str((incident.raw.get("incident") or {}).get("summary") or "")),
        "now": clock.isoformat(),
        "started_at": utc_now().isoformat(), "finished_at": None, "complete": False,
        "replay": str(bundle) if bundle else None, "window": incident.window.to_dict(),
        "steps": {s.number: {"name": s.name, "title": s.title, "status": "pending"} for s in steps},
    }


def _save_state(run_dir: Path, state: dict) -> None:
    write_json(run_dir / "run.json", state)


def _task(step: Step, incident: Incident, run_dir: Path, bundle: Path | None, clock: pd.Timestamp,
          timeout_s: float | None) -> StepTask:
    nb_dir = notebooks_dir()
    limit = timeout_s or float(incident.limits.get("notebook_timeout_s", DEFAULT_TIMEOUT_S))
    return StepTask(
        number=step.number, notebook=nb_dir / step.notebook, cwd=nb_dir,
        parameters={"params": str(Path(incident.path).resolve()), "run_dir": str(run_dir.resolve()),
                    "replay": str(bundle) if bundle else "", "step": step.number, "now": clock.isoformat()},
        timeout_s=limit, memory_mb=int(incident.limits.get("notebook_memory_mb", DEFAULT_MEMORY_MB)),
        kernel_name=os.environ.get("IRLIB_KERNEL", "python3"))


Done = tuple[StepOutcome, "RenderedStep"]


def _execute(steps: list[Step], tasks: dict[str, StepTask], incident: Incident, jobs: int, say: Progress,
             finished: Callable[[Step, StepOutcome, "RenderedStep"], None],
             stage_done: Callable[[int], None]) -> dict[str, StepOutcome]:
    """Run the steps stage by stage in a pool of worker processes (each worker also redacts and renders); hand
    each step to ``finished`` as it completes and call ``stage_done`` after each stage."""
    outcomes: dict[str, StepOutcome] = {}
    red: dict[str, Any] = {"emails": bool(incident.redaction.get("emails")), "ips": bool(incident.redaction.get("ips"))}
    if incident.limits.get("output_max_kb"):
        red["output_max_kb"] = int(incident.limits["output_max_kb"])
    manager = SyncManager()
    manager.start(initializer=_die_with_runner, initargs=(os.getpid(),))  # holds the "step started" queue
    with manager, ProcessPoolExecutor(max_workers=min(jobs, len(steps)), initializer=_quiet_worker,
                                      initargs=(os.getpid(),)) as pool:
        started = manager.Queue()  # workers say when a step starts; a thread here announces it
        announcer = threading.Thread(target=_announce, args=(started, say), daemon=True)
        announcer.start()
        for stage in sorted({s.stage for s in steps}):
            pending: dict[Future[Done], Step] = {}
            for step in (s for s in steps if s.stage == stage):
                say(f"[{step.name}] queued (stage {stage})")
                future = pool.submit(run_and_render, tasks[step.number], step, incident.id, incident.title, red,
                                     started)
                pending[future] = step
            for future in as_completed(pending):
                step = pending[future]
                outcome, rendered = _outcome(step, future, tasks[step.number], incident, red)
                outcomes[step.number] = outcome
                finished(step, outcome, rendered)
                say(f"[{step.name}] {outcome.status} in {outcome.duration_s:.1f} s"
                    + (f": {outcome.error}" if outcome.error else ""))
            stage_done(stage)
        started.put("")  # stop the announcer
        announcer.join(5)
    return outcomes


def _announce(started: Any, say: Progress) -> None:
    while name := started.get():
        say(f"[{name}] running")


def run_and_render(task: StepTask, step: Step, incident_id: str, title: str, red: dict[str, Any],
                   started: Any = None) -> Done:
    """Worker: announce the start, execute the step's notebook, then redact and render it."""
    from .report import render_step

    if started is not None:
        started.put(step.name)
    outcome = run_step(task)
    return outcome, render_step(step, outcome, incident_id, title, **red)


def _outcome(step: Step, future: Future[Done], task: StepTask, incident: Incident, red: dict[str, Any]) -> Done:
    try:
        return future.result()
    except Exception as exc:  # the worker process itself died
        from .report import render_step

        nb = Path(task.notebook).read_text(encoding="utf-8")
        outcome = StepOutcome(step.number, "failed", 0.0, f"worker process failed: {type(exc).__name__}: {exc}",
                              None, nb)
        return outcome, render_step(step, outcome, incident.id, incident.title, **red)


def _quiet_worker(runner_pid: int | None = None) -> None:
    """Worker set-up: die with the runner; skip the slow optional jsonschema format grammar (rfc3987_syntax)."""
    if runner_pid is not None:
        _die_with_runner(runner_pid)
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # Kernels inherit this worker's stderr: their start-up chatter ("running over TCP", "KeyboardInterrupt caught
    # in kernel" at shutdown) would drown the progress display.  Failures reach the runner through the outcome.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _die_with_runner(runner_pid: int) -> None:
    """Linux: have the kernel SIGKILL this worker when the runner dies (its kernel, polling its parent, follows),
    so a runner killed with SIGKILL leaves no orphaned worker writing into the run directory."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != runner_pid:  # the runner died before the request took effect
        os._exit(1)


def load_state(run_dir: Path) -> dict:
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        raise EvidenceError(f"{run_dir}: no run.json; not a run directory")
    return json.loads(path.read_text(encoding="utf-8"))
