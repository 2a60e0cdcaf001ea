"""The lab kubelet: runs each pod's containers as real processes, restarts them when they die, enforces memory
limits like the kernel's cgroup OOM killer (SIGKILL, exit code 137, reason ``OOMKilled``), probes readiness, and
keeps each container's log (current and previous instance) in the ``kubectl logs --timestamps`` form.

Everything that happens is reported through ``on_change`` (the cluster mirror turns it into Kubernetes objects
and events) and is readable for the lab's kube-state-metrics/cAdvisor-style exporter.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

LOG_CAP_BYTES = 2 << 20
BACKOFF_S = (5.0, 10.0, 20.0, 40.0, 80.0)  # the kubelet's 10 s .. 5 min back-off, halved and capped
FAILURE_THRESHOLD = 3  # the kubelet's readiness failureThreshold default: a ready container turns unready only after
#                        this many failed probes in a row (successThreshold 1: one success makes it ready again)


@dataclass
class ContainerSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    memory_limit_bytes: int
    probe_port: int
    probe_path: str = "/healthz"
    image: str = ""


@dataclass
class Termination:
    reason: str
    exit_code: int
    started_at: pd.Timestamp
    finished_at: pd.Timestamp


@dataclass
class Container:
    spec: ContainerSpec
    proc: subprocess.Popen[bytes] | None = None
    started_at: pd.Timestamp | None = None
    restart_count: int = 0
    last_termination: Termination | None = None
    ready: bool = False
    probe_failures: int = 0  # failed readiness probes in a row
    waiting_reason: str = ""
    restart_due: float = 0.0
    oom_killed: bool = False
    log_current: bytearray = field(default_factory=bytearray)
    log_previous: bytes = b""
    log_truncated: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def rss_bytes(self) -> int:
        """Resident memory of the running process (its working set), 0 when not running."""
        if self.proc is None or self.proc.poll() is not None:
            return 0
        try:
            with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return 0
        return 0


@dataclass
class Pod:
    name: str
    namespace: str
    labels: dict[str, str]
    owner: str  # the ReplicaSet's name
    containers: list[Container]
    created_at: pd.Timestamp
    port: int
    deleting: bool = False

    @property
    def ready(self) -> bool:
        return all(c.ready for c in self.containers)


Change = Callable[[Pod, str, str, str], None]  # pod, event type, reason, message


class Kubelet:
    """Supervises pods on one "node"; ``tick`` runs in a background thread every ``interval_s``."""

    def __init__(self, workdir: Path, on_change: Change, interval_s: float = 0.25) -> None:
        self.workdir, self.on_change, self.interval_s = Path(workdir), on_change, interval_s
        self.pods: dict[str, Pod] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lab-kubelet", daemon=True)
        self._last_probe = 0.0

    def start(self) -> None:
        self._thread.start()

    def run_pod(self, pod: Pod) -> None:
        with self._lock:
            self.pods[pod.name] = pod
            for container in pod.containers:
                self._start_container(pod, container)

    def delete_pod(self, name: str, grace_s: float = 3.0) -> None:
        with self._lock:
            pod = self.pods.get(name)
            if pod is None:
                return
            pod.deleting = True
        for container in pod.containers:
            self.on_change(pod, "Normal", "Killing", f"Stopping container {container.spec.name}")
            _terminate(container.proc, grace_s)
        with self._lock:
            self.pods.pop(name, None)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        for name in list(self.pods):
            self.delete_pod(name, grace_s=2.0)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            probe = time.monotonic() - self._last_probe >= 1.0
            if probe:
                self._last_probe = time.monotonic()
            with self._lock:
                pods = [p for p in self.pods.values() if not p.deleting]
            for pod in pods:
                for container in pod.containers:
                    self._check(pod, container, probe)

    def _check(self, pod: Pod, c: Container, probe: bool) -> None:
        if c.spec.memory_limit_bytes and c.proc is not None and c.proc.poll() is None \
                and c.rss_bytes() > c.spec.memory_limit_bytes:
            c.oom_killed = True
            c.proc.send_signal(signal.SIGKILL)
            c.proc.wait(5)
        if c.proc is not None and c.proc.poll() is not None:
            self._terminated(pod, c)
        elif c.proc is None and c.restart_due and time.monotonic() >= c.restart_due:
            c.restart_count += 1
            self._start_container(pod, c)
        elif probe and c.proc is not None:
            ready = self._probe_ready(pod, c)
            if ready != c.ready:
                c.ready = ready
                self.on_change(pod, "Normal", "StatusChanged", "")

    def _probe_ready(self, pod: Pod, c: Container) -> bool:
        """Probe once; whether the container counts as ready now (see ``FAILURE_THRESHOLD``)."""
        if _probe(c.spec.probe_port, c.spec.probe_path):
            c.probe_failures = 0
            return True
        c.probe_failures += 1
        if c.ready:
            self.on_change(pod, "Warning", "Unhealthy",
                           f"Readiness probe failed: HTTP probe failed on {c.spec.probe_path}")
        return c.ready and c.probe_failures < FAILURE_THRESHOLD

    def _terminated(self, pod: Pod, c: Container) -> None:
        assert c.proc is not None
        code = c.proc.returncode
        exit_code = 128 + -code if code < 0 else code
        reason = "OOMKilled" if c.oom_killed else ("Completed" if code == 0 else "Error")
        now = pd.Timestamp.now(tz="UTC")
        c.last_termination = Termination(reason, exit_code, c.started_at or now, now)
        with c.lock:
            c.log_previous, c.log_current = bytes(c.log_current), bytearray()
        c.proc, c.ready, c.oom_killed, c.probe_failures = None, False, False, 0
        delay = BACKOFF_S[min(c.restart_count, len(BACKOFF_S) - 1)]
        c.restart_due, c.waiting_reason = time.monotonic() + delay, "CrashLoopBackOff"
        self.on_change(pod, "Warning", "BackOff", f"Back-off restarting failed container {c.spec.name} in pod "
                       f"{pod.name}_{pod.namespace}({reason}, exit code {exit_code})")

    def _start_container(self, pod: Pod, c: Container) -> None:
        log_file = self.workdir / "pods" / pod.name / f"{c.spec.name}.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        c.proc = subprocess.Popen(c.spec.argv, env=c.spec.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        c.started_at, c.restart_due, c.waiting_reason = pd.Timestamp.now(tz="UTC"), 0.0, ""
        threading.Thread(target=_pump, args=(c, c.proc, log_file), daemon=True).start()
        self.on_change(pod, "Normal", "Started", f"Started container {c.spec.name}")


def _pump(c: Container, proc: subprocess.Popen[bytes], log_file: Path) -> None:
    """Copy the process's output into the container log, each line prefixed with its RFC 3339 receive time."""
    assert proc.stdout is not None
    with open(log_file, "ab") as out:
        for line in proc.stdout:
            stamped = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode() + b" " + line
            out.write(stamped)
            out.flush()
            with c.lock:
                if c.proc is not proc:
                    continue
                c.log_current += stamped
                if len(c.log_current) > LOG_CAP_BYTES:
                    del c.log_current[: len(c.log_current) - LOG_CAP_BYTES]
                    c.log_truncated = True


def _probe(port: int, path: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1.0) as resp:
            return resp.status == 200
    except OSError:
        return False


def _terminate(proc: subprocess.Popen[bytes] | None, grace_s: float) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    except ProcessLookupError:
        pass
