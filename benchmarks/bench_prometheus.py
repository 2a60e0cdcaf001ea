"""Benchmark: one 24 h range query of 200 series at a 15 s step from a real local Prometheus.

irlib's ``range_query`` (fetch + tidy frame) against prometheus-api-client's ``custom_query_range`` +
``MetricRangeDataFrame`` on the same query and window, in the same run.  The server is started on loopback with
the history backfilled by promtool, then stopped.  Each side runs in its own child process (so peak memory is its
own); the best of a few repetitions is kept.  irlib asks a loopback server for uncompressed answers; the anchor
is also timed that way (``anchor_identity_s``) so the parsing gain can be read apart from the compression one.  Progress goes to stderr; the last stdout line is the JSON result.

    .venv/bin/python benchmarks/bench_prometheus.py [--series 200] [--hours 24] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

QUERY = "bench_metric"
TARGET_RATIO = 5


def log(message: str) -> None:
    print(f"[bench_prometheus] {message}", file=sys.stderr, flush=True)


def write_history(path: Path, series: int, start: pd.Timestamp, end: pd.Timestamp) -> int:
    from irlib.servers.prometheus import Series, write_openmetrics

    times = np.arange(start.value / 1e9, end.value / 1e9 + 1, 15.0)
    rng = np.random.default_rng(7)
    written = (Series("bench_metric", {"job": "bench", "instance": f"host-{i:03d}:9100", "zone": f"z{i % 3}"},
                      times, np.round(rng.normal(100.0, 15.0, times.size), 3)) for i in range(series))
    return write_openmetrics(path, written)


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def worker(kind: str, url: str, start: str, end: str, repeat: int) -> dict[str, float]:
    """Run one side ``repeat`` times in this process; return its best time, points and peak memory growth."""
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    if kind == "irlib":
        from irlib.incident import parse_incident
        from irlib.sources.prometheus import PrometheusSource

        text = (f"incident: {{id: BENCH, title: bench, declared_at: '{end}'}}\nwindow: {{start: '{start}', "
                f"end: '{end}'}}\nservice: {{name: bench}}\nsources:\n  prometheus: {{url: '{url}', timeout_s: 120}}\n")
        source = PrometheusSource(parse_incident(text, path=Path("bench.yaml"), now=end_ts))

        def run() -> int:
            return len(source.range_query(query=QUERY, start=start_ts, end=end_ts, step="15s").frame)
    else:
        from prometheus_api_client import MetricRangeDataFrame, PrometheusConnect

        # "anchor" is the client as people use it (requests asks for gzip); "anchor_identity" asks for no
        # compression, as irlib does on loopback, to show how much of the gap is the parsing alone.
        headers = {"Accept-Encoding": "identity"} if kind == "anchor_identity" else None
        connection = PrometheusConnect(url=url, headers=headers, timeout=120)

        def run() -> int:
            result = connection.custom_query_range(QUERY, start_time=start_ts.to_pydatetime(),
                                                   end_time=end_ts.to_pydatetime(), step="15")
            return len(MetricRangeDataFrame(result))
    baseline = _rss_mb()
    best, points = float("inf"), 0
    for _ in range(repeat):
        began = time.perf_counter()
        points = run()
        best = min(best, time.perf_counter() - began)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - baseline
    return {"seconds": best, "points": points, "peak_mb": peak}


def run_side(kind: str, url: str, start: pd.Timestamp, end: pd.Timestamp, repeat: int) -> dict[str, float]:
    log(f"timing {kind} (best of {repeat})")
    args = [sys.executable, __file__, "--worker", kind, "--url", url, "--start", start.isoformat(),
            "--end", end.isoformat(), "--repeat", str(repeat)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=1800, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    log(f"{kind}: {result['seconds']:.3f} s for {result['points']:,} points, peak +{result['peak_mb']:.0f} MB")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", choices=("irlib", "anchor", "anchor_identity"))
    parser.add_argument("--url", default="")
    parser.add_argument("--start", default="")
    parser.add_argument("--end", default="")
    opts = parser.parse_args()
    if opts.worker:
        print(json.dumps(worker(opts.worker, opts.url, opts.start, opts.end, opts.repeat)))
        return 0
    from irlib.servers.prometheus import start_prometheus

    end = pd.Timestamp.now(tz="UTC").floor("h") - pd.Timedelta(hours=1)
    start = end - pd.Timedelta(hours=opts.hours)
    with tempfile.TemporaryDirectory(prefix="irlib-bench-prom-") as tmp:
        work = Path(tmp)
        log(f"writing {opts.series} series x {opts.hours:g} h at 15 s as OpenMetrics")
        samples = write_history(work / "history.om", opts.series, start, end)
        log(f"backfilling {samples:,} samples with promtool and starting prometheus")
        server = start_prometheus(work / "server", history=[work / "history.om"], ready_timeout_s=120)
        try:
            irlib = run_side("irlib", server.url, start, end, opts.repeat)
            anchor = run_side("anchor", server.url, start, end, opts.repeat)
            plain = run_side("anchor_identity", server.url, start, end, opts.repeat)
        finally:
            server.stop()
    if irlib["points"] != anchor["points"]:
        log(f"WARNING: point counts differ: irlib {irlib['points']} vs anchor {anchor['points']}")
    print(json.dumps({"benchmark": "prometheus_range", "series": opts.series, "points": int(irlib["points"]),
                      "irlib_s": round(irlib["seconds"], 4), "anchor_s": round(anchor["seconds"], 4),
                      "ratio": round(anchor["seconds"] / irlib["seconds"], 2),
                      "irlib_peak_mb": round(irlib["peak_mb"], 1), "anchor_peak_mb": round(anchor["peak_mb"], 1),
                      "target_ratio": TARGET_RATIO, "anchor_identity_s": round(plain["seconds"], 4),
                      "ratio_vs_anchor_identity": round(plain["seconds"] / irlib["seconds"], 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
