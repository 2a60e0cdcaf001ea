"""Execute one notebook with papermill, guarded: a timeout and a memory cap on the kernel, and a kernel that dies
(SIGKILL, OOM, timeout) leaves the notebook saved as far as it got with the failing cell marked.

Runs inside a worker process of the runner's pool, so imports (papermill, nbconvert) are paid once per worker.
"""
from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FAIL_MARK = "irlib_failed"


@dataclass
class StepTask:
    number: str
    notebook: Path
    parameters: dict[str, Any]
    cwd: Path
    timeout_s: float
    memory_mb: int
    kernel_name: str = "python3"


@dataclass
class StepOutcome:
    number: str
    status: str                 # "ok" | "failed"
    duration_s: float
    error: str = ""
    failed_cell: int | None = None
    notebook_json: str = ""     # the executed notebook (not yet redacted)
    warnings: list[str] = field(default_factory=list)


class _Watchdog(threading.Thread):
    """Kills this worker's kernel (its child processes) at the deadline or above the memory cap."""

    def __init__(self, timeout_s: float, memory_mb: int) -> None:
        super().__init__(daemon=True)
        self.deadline = time.monotonic() + timeout_s
        self.memory_bytes = memory_mb * 1024 * 1024
        self.reason = ""
        self.done = threading.Event()

    def run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self.done.wait(0.2):
            children = me.children(recursive=True)
            if time.monotonic() > self.deadline:
                self.reason = "timeout"
            elif self.memory_bytes and any(_rss(c) > self.memory_bytes for c in children):
                self.reason = "memory"
            if self.reason:
                for child in children:
                    try:
                        child.send_signal(signal.SIGKILL)
                    except psutil.Error:
                        pass
                return


def _rss(proc: Any) -> int:
    try:
        return int(proc.memory_info().rss)
    except Exception:  # the process went away
        return 0


def run_step(task: StepTask) -> StepOutcome:
    """Execute ``task.notebook`` with papermill; never raises for a notebook failure."""
    import papermill

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="irlib-step-") as scratch:
        out = Path(scratch) / task.notebook.name
        guard = _Watchdog(task.timeout_s, task.memory_mb)
        guard.start()
        error, status = "", "ok"
        try:
            papermill.execute_notebook(
                str(task.notebook), str(out), parameters=task.parameters, kernel_name=task.kernel_name,
                cwd=str(task.cwd), progress_bar=False, log_output=False, request_save_on_cell_execute=True,
                execution_timeout=int(task.timeout_s) + 5, start_timeout=60, shutdown_kernel="immediate")
        except Exception as exc:  # papermill's execution error, a dead kernel, a timeout
            status, error = "failed", _describe(exc, guard.reason, task)
        finally:
            guard.done.set()
        nb_json = out.read_text(encoding="utf-8") if out.is_file() else ""
    if not nb_json:
        nb_json = Path(task.notebook).read_text(encoding="utf-8")
    nb_json, failed_cell = _mark_failure(nb_json, error) if status == "failed" else (nb_json, None)
    return StepOutcome(task.number, status, time.monotonic() - started, error, failed_cell, nb_json)


def _describe(exc: BaseException, reason: str, task: StepTask) -> str:
    if reason == "timeout":
        return f"notebook exceeded its timeout of {task.timeout_s:.0f} s; the kernel was stopped"
    if reason == "memory":
        return f"kernel exceeded the memory cap of {task.memory_mb} MB and was stopped"
    name = type(exc).__name__
    if name == "DeadKernelError":
        return "the kernel died (killed by a signal or crashed) while running a cell"
    if name == "PapermillExecutionError":
        ename = getattr(exc, "ename", "")
        evalue = getattr(exc, "evalue", "")
        return f"cell {getattr(exc, 'exec_count', '?')} raised {ename}: {evalue}"
    return f"{name}: {exc}"


def _mark_failure(nb_json: str, error: str) -> tuple[str, int | None]:
    """Tag the cell that was running when the notebook failed, adding the reason as its output if it has none."""
    nb = json.loads(nb_json)
    failed: int | None = None
    for index, cell in enumerate(nb.get("cells", [])):
        meta = cell.get("metadata", {}).get("papermill", {})
        if cell.get("cell_type") != "code":
            continue
        has_error = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        if has_error or meta.get("status") == "failed" or (meta.get("start_time") and not meta.get("end_time")):
            failed = index
            break
        if meta.get("start_time"):
            failed = index  # the last cell that started, if none is marked otherwise
    if failed is not None:
        cell = nb["cells"][failed]
        cell.setdefault("metadata", {})[FAIL_MARK] = True
        if not any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            cell.setdefault("outputs", []).append(
                {"output_type": "error", "ename": "StepFailed", "evalue": error, "traceback": [error]})
    return json.dumps(nb), failed


def pid() -> int:
    return os.getpid()
