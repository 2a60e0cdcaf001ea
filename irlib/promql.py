"""Building PromQL safely: label-value escaping, selectors, durations, and the RED / USE query packs.

Every label value that goes into a query passes through :func:`escape_label_value` (directly or through
:func:`matcher` / :func:`selector`); query text is never built with ``str.format`` on user input.

Query packs are written for the standard metric names: the Prometheus client libraries' ``http_requests_total``
and ``http_request_duration_seconds`` histogram (RED), cAdvisor ``container_*``, kube-state-metrics ``kube_*`` and
node_exporter ``node_*`` (USE).  Each pack query can be replaced per signal with ``sources.prometheus.queries``.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

PACKS: dict[str, list[str]] = {
    "red": ["request_rate", "error_ratio", "latency_p50", "latency_p95", "latency_p99"],
    "use": ["cpu_usage", "cpu_throttling", "memory_working_set", "memory_limit", "restarts", "oom_kills",
            "oom_events", "up", "disk", "network", "network_receive", "network_transmit"],
}

#: Label names the packs use, by role; ``sources.prometheus.labels`` overrides them.  ``service`` is empty by
#: default (RED metrics are then matched by pod name); set it (e.g. to ``app`` or ``job``) to match RED metrics by
#: ``<that label>="<service.name>"`` instead.
DEFAULT_LABELS: dict[str, str] = {"namespace": "namespace", "pod": "pod", "container": "container",
                                  "service": "", "code": "code"}

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_MATCH_OPS = ("=", "!=", "=~", "!~")
_RATE = "5m"
_FS_FILTER = 'fstype!~"tmpfs|overlay|squashfs|nsfs|ramfs"'


def escape_label_value(value: str) -> str:
    """``value`` escaped for use inside a double-quoted PromQL string (backslash, double quote, newline)."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def regex_literal(value: str) -> str:
    """A regular expression (RE2) matching exactly ``value``; escape it again with a matcher when interpolating."""
    return re.escape(str(value))


def matcher(name: str, op: str, value: str) -> str:
    """One label matcher ``name<op>"value"`` with the value escaped; raises ValueError for a bad name or operator."""
    if not _LABEL_NAME.match(name):
        raise ValueError(f"{name!r} is not a valid Prometheus label name")
    if op not in _MATCH_OPS:
        raise ValueError(f"{op!r} is not a label matching operator; use one of {', '.join(_MATCH_OPS)}")
    return f'{name}{op}"{escape_label_value(value)}"'


def selector(metric: str, matchers: Iterable[str] = ()) -> str:
    """``metric{m1,m2}`` from already-built matchers (see :func:`matcher`)."""
    if metric and not re.match(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", metric):
        raise ValueError(f"{metric!r} is not a valid metric name")
    inner = ",".join(m for m in matchers if m)
    return f"{metric}{{{inner}}}" if inner or not metric else metric


def parse_duration(value: str | float | int) -> float:
    """Seconds in a Prometheus duration (``15s``, ``1m30s``, ``500ms``, ``2h``) or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            parts = _DURATION.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise ValueError(f"{value!r} is not a duration; write e.g. 15s, 1m, 1h30m or a number of "
                                 "seconds") from None
            seconds = sum(float(n) * _UNIT_S[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{value!r} is not a positive duration")
    return seconds


def format_duration(seconds: float) -> str:
    """A short Prometheus duration for ``seconds`` (``15s``, ``1m``, ``1h30m``, ``250ms``)."""
    ms = int(round(seconds * 1000))
    if ms % 1000:
        return f"{ms}ms"
    total, out = ms // 1000, ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            out += f"{total // size}{unit}"
            total %= size
    return out or "0s"


def service_labels(overrides: Mapping[str, str] | None) -> dict[str, str]:
    """The role → label-name map for the packs, with ``sources.prometheus.labels`` applied."""
    labels = dict(DEFAULT_LABELS)
    for role, name in (overrides or {}).items():
        if role not in DEFAULT_LABELS:
            raise ValueError(f"sources.prometheus.labels.{role}: unknown role; known roles are "
                             f"{', '.join(DEFAULT_LABELS)}")
        if name and not _LABEL_NAME.match(name):
            raise ValueError(f"sources.prometheus.labels.{role}: {name!r} is not a valid label name")
        labels[role] = name
    return labels


def pod_regex(names: Iterable[str]) -> str:
    """A regex matching the pods of the given workloads (``<name>-...``), each name taken literally."""
    alts = "|".join(regex_literal(n) for n in names)
    return f"(?:{alts})-.+"


def pack_queries(incident: Any) -> dict[str, str]:
    """Every pack signal's PromQL for the incident's service, with ``sources.prometheus.queries`` overrides.

    ``incident`` is an :class:`~irlib.incident.Incident` (service name, namespace, deployments, containers).
    Overrides are used verbatim and may add signals of their own.
    """
    prom = (incident.sources or {}).get("prometheus") or {}
    labels = service_labels(prom.get("labels"))
    service = incident.service
    workloads = list(service.get("deployments") or [service["name"]])
    ns = matcher(labels["namespace"], "=", incident.namespace) if labels["namespace"] else ""
    pods = matcher(labels["pod"], "=~", pod_regex(workloads)) if labels["pod"] else ""
    app = [ns, matcher(labels["service"], "=", service["name"])] if labels["service"] else [ns, pods]
    containers = list(service.get("containers") or [])
    if labels["container"] and containers:
        ctr = [matcher(labels["container"], "=~", "|".join(regex_literal(c) for c in containers))]
    elif labels["container"]:
        ctr = [matcher(labels["container"], "!=", ""), matcher(labels["container"], "!=", "POD")]
    else:
        ctr = []
    queries = {**_red(app, labels), **_use([ns, pods], ctr, labels), "up": f"up{{{_join(app)}}}"}
    queries.update(prom.get("queries") or {})
    return queries


def _join(matchers: Iterable[str]) -> str:
    return ",".join(m for m in matchers if m)


def _red(app: list[str], labels: Mapping[str, str]) -> dict[str, str]:
    req = _join(app)
    errors = _join([*app, matcher(labels["code"], "=~", "5..")])
    total = f"sum(rate(http_requests_total{{{req}}}[{_RATE}]))"
    out = {"request_rate": total,
           # no 5xx at all is a ratio of 0, not a missing series: the baseline needs points for change detection
           "error_ratio": f"(sum(rate(http_requests_total{{{errors}}}[{_RATE}])) or vector(0)) / {total}"}
    for q in (50, 95, 99):
        out[f"latency_p{q}"] = (f"histogram_quantile({q / 100}, sum by (le) "
                                f"(rate(http_request_duration_seconds_bucket{{{req}}}[{_RATE}])))")
    return out


def _use(pod: list[str], ctr: list[str], labels: Mapping[str, str]) -> dict[str, str]:
    by = f"sum by ({labels['pod']})" if labels["pod"] else "sum"
    c = _join([*pod, *ctr])
    p = _join(pod)
    mem = _join([p, matcher("resource", "=", "memory")])
    oom = _join([p, matcher("reason", "=", "OOMKilled")])
    return {
        "cpu_usage": f"{by} (rate(container_cpu_usage_seconds_total{{{c}}}[{_RATE}]))",
        "cpu_throttling": (f"{by} (rate(container_cpu_cfs_throttled_periods_total{{{c}}}[{_RATE}])) / "
                           f"{by} (rate(container_cpu_cfs_periods_total{{{c}}}[{_RATE}]))"),
        "memory_working_set": f"{by} (container_memory_working_set_bytes{{{c}}})",
        "memory_limit": f"{by} (kube_pod_container_resource_limits{{{mem}}})",
        "restarts": f"{by} (kube_pod_container_status_restarts_total{{{p}}})",
        "oom_kills": f"{by} (kube_pod_container_status_last_terminated_reason{{{oom}}})",
        "oom_events": f"{by} (increase(container_oom_events_total{{{c}}}[{_RATE}]))",
        "disk": (f"node_filesystem_avail_bytes{{{_FS_FILTER}}} / "
                 f"node_filesystem_size_bytes{{{_FS_FILTER}}}"),
        "network_receive": f"{by} (rate(container_network_receive_bytes_total{{{p}}}[{_RATE}]))",
        "network_transmit": f"{by} (rate(container_network_transmit_bytes_total{{{p}}}[{_RATE}]))",
        "network": (f"{by} (rate(container_network_receive_bytes_total{{{p}}}[{_RATE}])) + "
                    f"{by} (rate(container_network_transmit_bytes_total{{{p}}}[{_RATE}]))"),
    }
