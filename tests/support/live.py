"""A small live incident for integration tests: a Kubernetes API stand-in with one Deployment, its ReplicaSet and
two pods whose container logs carry given lines, a log file, a Prometheus with a few minutes of backfilled
request/error counters, and the parameters YAML that points ``irlib run`` at all of them.

Everything binds to 127.0.0.1 on free ports and lives under a temporary directory; the caller stops what it starts
(:meth:`LiveWorld.stop`).  The window is fixed in the past (``WINDOW_START`` .. ``WINDOW_END``), so every run sees
the same data and Prometheus blocks lie well before its head.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from irlib.k8s_standin import StandIn, stamp_lines

APP = "orders"
NAMESPACE = "shop"
TEMPLATE_HASH = "7d9c5b6f4"
WINDOW_START = pd.Timestamp("2024-05-01T10:00:00Z")
WINDOW_END = pd.Timestamp("2024-05-01T10:20:00Z")
NOW = WINDOW_END + pd.Timedelta(minutes=5)


def iso(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def uid(kind: str, name: str) -> str:
    d = hashlib.sha256(f"{kind}/{NAMESPACE}/{name}".encode()).hexdigest()
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"


@dataclass
class WorldText:
    """Text that ends up in source data: pod labels/annotations, event messages, container and file log lines."""

    log_lines: Sequence[str] = ("GET /orders 200", "ERROR payment gateway timeout")
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    event_messages: Sequence[str] = ("Back-off restarting failed container",)
    change_cause: str = "kubectl set image deployment/orders orders=registry.local/orders:1.4.2"
    #: more ready pods of the app, one per label set (labels whose keys would collide on one pod)
    extra_pod_labels: Sequence[Mapping[str, str]] = ()


def deployment(text: WorldText) -> dict[str, Any]:
    template = {"metadata": {"labels": {"app": APP}}, "spec": {"containers": [
        {"name": APP, "image": "registry.local/orders:1.4.2"}]}}
    return {"kind": "Deployment",
            "metadata": {"name": APP, "namespace": NAMESPACE, "uid": uid("Deployment", APP), "labels": {"app": APP},
                         "creationTimestamp": iso(WINDOW_START - pd.Timedelta(days=2)), "generation": 2,
                         "annotations": {"deployment.kubernetes.io/revision": "2",
                                         "kubernetes.io/change-cause": text.change_cause}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": APP}}, "template": template},
            "status": {"observedGeneration": 2, "replicas": 2, "readyReplicas": 1, "availableReplicas": 1,
                       "updatedReplicas": 2, "unavailableReplicas": 1}}


def replicaset(text: WorldText) -> dict[str, Any]:
    name = f"{APP}-{TEMPLATE_HASH}"
    labels = {"app": APP, "pod-template-hash": TEMPLATE_HASH}
    return {"kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": NAMESPACE, "uid": uid("ReplicaSet", name), "labels": labels,
                         "creationTimestamp": iso(WINDOW_START + pd.Timedelta(minutes=3)),
                         "annotations": {"deployment.kubernetes.io/revision": "2",
                                         "kubernetes.io/change-cause": text.change_cause},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": APP,
                                              "uid": uid("Deployment", APP), "controller": True}]},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": APP, "image": "registry.local/orders:1.4.2"}]}}},
            "status": {"replicas": 2, "readyReplicas": 1, "availableReplicas": 1}}


def pod(name: str, text: WorldText, *, ready: bool, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    labels = {"app": APP, "pod-template-hash": TEMPLATE_HASH, **(text.labels if labels is None else labels)}
    status: dict[str, Any] = {"name": APP, "image": "registry.local/orders:1.4.2", "ready": ready,
                              "restartCount": 0 if ready else 3, "started": ready,
                              "state": {"running": {"startedAt": iso(WINDOW_START)}} if ready else
                              {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}}
    if not ready:
        status["lastState"] = {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                              "startedAt": iso(WINDOW_START + pd.Timedelta(minutes=5)),
                                              "finishedAt": iso(WINDOW_START + pd.Timedelta(minutes=6))}}
    owner = f"{APP}-{TEMPLATE_HASH}"
    return {"kind": "Pod",
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels, "annotations": dict(text.annotations),
                         "uid": uid("Pod", name), "creationTimestamp": iso(WINDOW_START + pd.Timedelta(minutes=3)),
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                                              "uid": uid("ReplicaSet", owner), "controller": True}]},
            "spec": {"nodeName": "node-1", "containers": [{"name": APP, "image": "registry.local/orders:1.4.2"}]},
            "status": {"phase": "Running", "startTime": iso(WINDOW_START + pd.Timedelta(minutes=3)),
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "containerStatuses": [status]}}


def event(serial: int, message: str, at: pd.Timestamp, pod_name: str) -> dict[str, Any]:
    return {"kind": "Event",
            "metadata": {"name": f"{pod_name}.{serial:016x}", "namespace": NAMESPACE, "creationTimestamp": iso(at)},
            "involvedObject": {"kind": "Pod", "name": pod_name, "namespace": NAMESPACE, "uid": uid("Pod", pod_name)},
            "reason": "BackOff", "message": message, "type": "Warning", "count": 1, "firstTimestamp": iso(at),
            "lastTimestamp": iso(at), "source": {"component": "kubelet", "host": "node-1"}}


POD_NAMES = (f"{APP}-{TEMPLATE_HASH}-abcde", f"{APP}-{TEMPLATE_HASH}-fghij")


def standin(text: WorldText, **kwargs: Any) -> StandIn:
    """A stand-in (not started) serving the Deployment, ReplicaSet, two pods, events and their container logs."""
    objects = [deployment(text), replicaset(text), pod(POD_NAMES[0], text, ready=True),
               pod(POD_NAMES[1], text, ready=False)]
    # one involved object per message: the report groups events by (reason, object) and shows the last message
    objects += [event(i, m, WINDOW_START + pd.Timedelta(minutes=6, seconds=10 * i),
                      POD_NAMES[1] if i == 0 else f"{APP}-worker-{i}")
                for i, m in enumerate(text.event_messages)]
    logs = {(NAMESPACE, name, APP, False): stamp_lines(log_lines(text), WINDOW_START + pd.Timedelta(minutes=4),
                                                        every_s=20.0) for name in POD_NAMES}
    for i, extra in enumerate(text.extra_pod_labels):
        name = f"{APP}-{TEMPLATE_HASH}-x{i:03d}"
        objects.append(pod(name, text, ready=True, labels=extra))
        logs[(NAMESPACE, name, APP, False)] = b""
    return StandIn(objects, logs, **kwargs)


def log_lines(text: WorldText) -> list[str]:
    """The container log lines: each given line prefixed with a level so log analysis keeps it."""
    return [line if line.split(" ", 1)[0] in ("INFO", "ERROR", "WARN") else f"ERROR {line}"
            for line in text.log_lines]


def write_log_file(path: Path, text: WorldText) -> Path:
    """A plain-text application log: ``<ISO time> <LEVEL> <message>`` per line inside the window."""
    at = WINDOW_START + pd.Timedelta(minutes=4)
    rows = [f"{(at + pd.Timedelta(seconds=15 * i)).isoformat().replace('+00:00', 'Z')} {line}"
            for i, line in enumerate(log_lines(text))]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def history_series(step_s: int = 15) -> list[Any]:
    """Request and 5xx counters for the app's pods over the window (errors start at minute 5)."""
    from irlib.servers.prometheus import Series

    start = int((WINDOW_START - pd.Timedelta(minutes=10)).timestamp())
    times = np.arange(start, int(WINDOW_END.timestamp()) + 1, step_s, dtype=np.float64)
    onset = WINDOW_START.timestamp() + 300
    ok = np.cumsum(np.full(len(times), 10.0 * step_s))
    bad = np.cumsum(np.where(times >= onset, 4.0 * step_s, 0.05 * step_s))
    out = []
    for name in POD_NAMES:
        base = {"namespace": NAMESPACE, "pod": name, "job": APP}
        out.append(Series("http_requests_total", {**base, "code": "200"}, times, ok, kind="counter"))
        out.append(Series("http_requests_total", {**base, "code": "500"}, times, bad, kind="counter"))
    return out


def prometheus_queries() -> dict[str, str]:
    sel = f'namespace="{NAMESPACE}",pod=~"{APP}-.*"'
    total = f"sum(rate(http_requests_total{{{sel}}}[1m]))"
    return {"request_rate": total, "error_ratio": f'sum(rate(http_requests_total{{{sel},code=~"5.."}}[1m])) / {total}'}


def params(*, incident_id: str, kubeconfig: Path | None = None, prometheus_url: str | None = None,
           log_file: Path | None = None, dsn_env: str | None = None, timeout_s: float = 2,
           title: str = "orders failing") -> dict[str, Any]:
    """Incident parameters for the world; sources left out when their argument is ``None``."""
    sources: dict[str, Any] = {}
    if kubeconfig is not None:
        sources["kubernetes"] = {"kubeconfig": str(kubeconfig), "timeout_s": timeout_s}
    if prometheus_url is not None:
        sources["prometheus"] = {"url": prometheus_url, "timeout_s": timeout_s, "retries": 0, "step": "15s",
                                 "queries": prometheus_queries()}
    if log_file is not None:
        sources["logs"] = [{"name": "app", "path": str(log_file)}]
    if dsn_env is not None:
        sources["databases"] = [{"name": "ordersdb", "dsn_env": dsn_env, "statement_timeout_s": timeout_s,
                                 "connect_timeout_s": timeout_s}]
    return {"incident": {"id": incident_id, "title": title, "declared_at": iso(WINDOW_START + pd.Timedelta(minutes=8))},
            "window": {"start": iso(WINDOW_START), "end": iso(WINDOW_END)},
            "service": {"name": APP, "namespace": NAMESPACE, "selector": f"app={APP}", "users_total": 1000},
            "sources": sources, "limits": {"notebook_timeout_s": 120}}


def write_params(path: Path, data: Mapping[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(json.loads(json.dumps(data)), sort_keys=False), encoding="utf-8")
    return path


def start_history_prometheus(workdir: Path) -> Any:
    """A Prometheus on loopback holding :func:`history_series` (a ServerProcess; the caller stops it).

    Raises :class:`irlib.servers.ServerMissing` when prometheus/promtool are not installed.
    """
    from irlib.servers.prometheus import start_prometheus, write_openmetrics

    workdir.mkdir(parents=True, exist_ok=True)
    history = workdir / "history.om"
    write_openmetrics(history, history_series())
    return start_prometheus(workdir / "prom", history=[history], ready_timeout_s=60)


def run_cli(args: Sequence[str], *, env: Mapping[str, str] | None = None, timeout_s: float = 300) -> Any:
    """Run ``python -m irlib.cli ARGS`` with the project's interpreter; return the CompletedProcess (text)."""
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "irlib.cli", *args], capture_output=True, text=True,
                          timeout=timeout_s, env={**os.environ, **(env or {})})


def run_dirs(reports: Path) -> list[Path]:
    """The run directories under a reports folder (``reports/<incident>/<run>``), oldest first."""
    return sorted(p for p in reports.glob("*/*") if p.is_dir())
