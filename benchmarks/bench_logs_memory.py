"""Peak memory of streaming analysis over a 2 GB log: must stay at or under 512 MB RSS.

A 2 GB file is generated in a temp dir (deleted after) by cycling the loghub Hadoop, HDFS, Spark, Zookeeper and
Apache 2k samples (all read as the "generic" header format) and a real Python-logging sample with multi-line
tracebacks (lnav's log2src example).  A child process runs ``irlib.logs.stream.analyse_file`` (chunked reading,
incremental template and error-class counts) and reports its own peak RSS (``resource.getrusage``, ru_maxrss);
psutil samples it from outside too.  Progress to stderr, one JSON line to stdout; exits 0 with ``"skipped"`` when
the data is absent.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "realdata" / "logs"
if not REAL.is_dir():
    REAL = Path("/work/shared/realdata/logs")
TARGET_BYTES = 2 * 1024 ** 3
LIMIT_MB = 512
SYSTEMS = ("Hadoop", "HDFS", "Spark", "Zookeeper", "Apache")
CHILD = r"""
import json, resource, sys, time
import pandas as pd
from irlib.logs.stream import analyse_file
t0 = time.perf_counter()
s = analyse_file(sys.argv[1], reference=pd.Timestamp("2020-01-01T00:00:00Z"))
took = time.perf_counter() - t0
print(json.dumps({"records": s.records, "lines": s.lines, "templates": len(s.template_tallies()),
                  "error_classes": len(s.error_tallies), "unparsed_times": s.unparsed_times, "format": s.format,
                  "seconds": round(took, 2), "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def build_block() -> bytes:
    parts = []
    for name in SYSTEMS:
        data = (REAL / "loghub" / name / f"{name}_2k.log").read_bytes()
        parts.append(data if data.endswith(b"\n") else data + b"\n")
    py = (REAL / "lnav_samples" / "log2src_python-example.0").read_bytes()
    parts.append(py if py.endswith(b"\n") else py + b"\n")
    return b"".join(parts)


def write_big(path: Path) -> tuple[int, int]:
    block = build_block()
    repeats = TARGET_BYTES // len(block) + 1
    with path.open("wb") as fh:
        for i in range(repeats):
            fh.write(block)
            if i % 200 == 0:
                print(f"writing {path.name}: {i * len(block) / 1e9:.2f} GB", file=sys.stderr)
    return repeats * len(block), repeats * block.count(b"\n")


def run_child(path: Path) -> tuple[dict[str, object], float]:
    import psutil

    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    watcher = psutil.Process(proc.pid)
    peak = 0.0
    deadline = time.monotonic() + 1800
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            peak = max(peak, watcher.memory_info().rss / 1024 ** 2)
        except psutil.Error:
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
    out, _ = proc.communicate(timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"analysis child failed with status {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1]), peak


def main() -> int:
    if not (REAL / "loghub").is_dir():
        print(json.dumps({"benchmark": "logs_memory", "skipped": "realdata absent"}))
        return 0
    with tempfile.TemporaryDirectory(prefix="irlib-bench-memory-") as tmpdir:
        path = Path(tmpdir) / "big.log"
        size, lines = write_big(path)
        print(f"analysing {size / 1e9:.2f} GB, {lines} lines", file=sys.stderr)
        result, sampled_peak = run_child(path)
    peak = max(float(result["ru_maxrss_mb"]), sampled_peak)
    out = {"benchmark": "logs_memory", "bytes": size, "lines": lines, **result,
           "psutil_peak_rss_mb": round(sampled_peak, 1), "peak_rss_mb": round(peak, 1), "limit_mb": LIMIT_MB,
           "target_met": peak <= LIMIT_MB and result["lines"] == lines}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
