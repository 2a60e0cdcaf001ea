"""A tiny thread-safe Prometheus metrics registry rendering the text exposition format (version 0.0.4).

Used by the lab's service, its sidecar proxy and the lab kubelet exporter; no third-party client needed.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable

LabelValues = tuple[str, ...]
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def escape_label(value: str) -> str:
    """A label value escaped for the text format."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_labels(names: Iterable[str], values: Iterable[str]) -> str:
    pairs = [f'{n}="{escape_label(v)}"' for n, v in zip(names, values)]
    return "{" + ",".join(pairs) + "}" if pairs else ""


def format_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value)) if abs(value) < 1e15 \
        else repr(float(value))


class Counter:
    """A counter (or, with ``kind="gauge"``, a gauge) with fixed label names."""

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = (), kind: str = "counter") -> None:
        self.name, self.help, self.labels, self.kind = name, help_text, labels, kind
        self._values: dict[LabelValues, float] = {}
        self._lock = threading.Lock()

    def inc(self, *values: str, amount: float = 1.0) -> None:
        with self._lock:
            self._values[values] = self._values.get(values, 0.0) + amount

    def set(self, *values: str, value: float) -> None:
        with self._lock:
            self._values[values] = value

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        lines += [f"{self.name}{format_labels(self.labels, k)} {format_value(v)}" for k, v in items]
        return lines


class Histogram:
    """A cumulative histogram with fixed label names and buckets."""

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = (),
                 buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        self.name, self.help, self.labels, self.buckets = name, help_text, labels, buckets
        self._counts: dict[LabelValues, list[int]] = {}
        self._sums: dict[LabelValues, float] = {}
        self._lock = threading.Lock()

    def observe(self, *values: str, value: float) -> None:
        with self._lock:
            counts = self._counts.setdefault(values, [0] * (len(self.buckets) + 1))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self._sums[values] = self._sums.get(values, 0.0) + value

    def render(self) -> list[str]:
        with self._lock:
            items = sorted((k, list(v), self._sums[k]) for k, v in self._counts.items())
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for key, counts, total in items:
            for bound, count in zip((*self.buckets, math.inf), counts):
                labels = format_labels((*self.labels, "le"), (*key, format_value(bound)))
                lines.append(f"{self.name}_bucket{labels} {count}")
            base = format_labels(self.labels, key)
            lines += [f"{self.name}_sum{base} {format_value(total)}", f"{self.name}_count{base} {counts[-1]}"]
        return lines


Metric = Counter | Histogram


def render(metrics: Iterable[Metric], extra: Callable[[], list[str]] | None = None) -> bytes:
    """The exposition text of ``metrics`` (plus ``extra()`` lines, e.g. process metrics)."""
    lines: list[str] = []
    for metric in metrics:
        lines += metric.render()
    if extra is not None:
        lines += extra()
    return ("\n".join(lines) + "\n").encode("utf-8")


def process_metrics() -> list[str]:
    """``process_resident_memory_bytes``, ``process_cpu_seconds_total`` and ``process_start_time_seconds`` from
    /proc (Linux), named as the official client libraries name them."""
    import os
    import resource
    import time

    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            rss = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        rss = 0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    start = time.time() - time.monotonic() + _process_start_monotonic()
    return ["# TYPE process_resident_memory_bytes gauge", f"process_resident_memory_bytes {rss}",
            "# TYPE process_cpu_seconds_total counter",
            f"process_cpu_seconds_total {format_value(usage.ru_utime + usage.ru_stime)}",
            "# TYPE process_start_time_seconds gauge", f"process_start_time_seconds {format_value(round(start, 3))}"]


def _process_start_monotonic() -> float:
    import os

    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0
