"""The lab's kubelet/cAdvisor and kube-state-metrics exporter: the series real clusters expose, for the lab's pods.

Series (labels ``namespace``, ``pod``, ``container`` as cAdvisor and kube-state-metrics write them):
``container_memory_working_set_bytes``, ``container_cpu_usage_seconds_total``, ``container_oom_events_total``,
``kube_pod_container_resource_limits{resource="memory",unit="byte"}``, ``kube_pod_container_status_restarts_total``,
``kube_pod_container_status_ready``, ``kube_pod_container_status_last_terminated_reason{reason}``,
``kube_pod_container_status_last_terminated_exitcode``, ``kube_deployment_status_replicas_available``.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .kubelet import Container, Pod
from .metrics import format_labels, format_value

TYPES = {
    "container_memory_working_set_bytes": "gauge", "container_cpu_usage_seconds_total": "counter",
    "container_oom_events_total": "counter", "kube_pod_container_resource_limits": "gauge",
    "kube_pod_container_status_restarts_total": "counter", "kube_pod_container_status_ready": "gauge",
    "kube_pod_container_status_last_terminated_reason": "gauge",
    "kube_pod_container_status_last_terminated_exitcode": "gauge", "kube_deployment_status_replicas_available": "gauge",
}


def cpu_seconds(c: Container) -> float:
    if c.proc is None or c.proc.poll() is not None:
        return 0.0
    try:
        with open(f"/proc/{c.proc.pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def pod_series(pod: Pod, oom_counts: dict[tuple[str, str], int]) -> list[tuple[str, dict[str, str], float]]:
    """Every series of one pod as (name, labels, value)."""
    out: list[tuple[str, dict[str, str], float]] = []
    for c in pod.containers:
        base = {"namespace": pod.namespace, "pod": pod.name, "container": c.spec.name}
        out += [("container_memory_working_set_bytes", base, float(c.rss_bytes())),
                ("container_cpu_usage_seconds_total", base, cpu_seconds(c)),
                ("container_oom_events_total", base, float(oom_counts.get((pod.name, c.spec.name), 0))),
                ("kube_pod_container_status_restarts_total", base, float(c.restart_count)),
                ("kube_pod_container_status_ready", base, 1.0 if c.ready else 0.0)]
        if c.spec.memory_limit_bytes:
            out.append(("kube_pod_container_resource_limits", {**base, "resource": "memory", "unit": "byte"},
                        float(c.spec.memory_limit_bytes)))
        if c.last_termination is not None:
            out += [("kube_pod_container_status_last_terminated_reason",
                     {**base, "reason": c.last_termination.reason}, 1.0),
                    ("kube_pod_container_status_last_terminated_exitcode", base,
                     float(c.last_termination.exit_code))]
    return out


def render_pods(pods: list[Pod], deployment: tuple[str, str], oom_counts: dict[tuple[str, str], int]) -> bytes:
    series: list[tuple[str, dict[str, str], float]] = []
    for pod in pods:
        series += pod_series(pod, oom_counts)
    available = sum(1 for p in pods if p.ready and not p.deleting)
    series.append(("kube_deployment_status_replicas_available",
                   {"namespace": deployment[0], "deployment": deployment[1]}, float(available)))
    lines: list[str] = []
    for name, kind in TYPES.items():
        lines.append(f"# TYPE {name} {kind}")
        lines += [f"{n}{format_labels(labels, labels.values())} {format_value(v)}"
                  for n, labels, v in series if n == name]
    return ("\n".join(lines) + "\n").encode()


def make_exporter(snapshot: Callable[[], bytes]) -> ThreadingHTTPServer:
    """An HTTP server on a free loopback port answering ``GET /metrics`` with ``snapshot()``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            data = snapshot() if self.path.startswith("/metrics") else b"GET /metrics\n"
            self.send_response(200 if self.path.startswith("/metrics") else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server
