#!/usr/bin/env python3
"""Headline figure: `irlib demo` (twelve notebooks, HTML report, manifest) against the naive pipeline a user would
otherwise script — the papermill CLI then the `jupyter nbconvert` CLI, one notebook after another — on the same
notebooks and the same demo evidence, in the same run.  Prints a final JSON line with both wall times and
their ratio (target: irlib at most 0.3 of the naive time)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def timed(cmd: list[str], **kwargs: object) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)  # type: ignore[arg-type]
    return time.perf_counter() - started


def run_irlib(reports: Path) -> float:
    return timed([str(BIN / "irlib"), "demo", "--reports", str(reports)])


def run_naive(work: Path) -> float:
    run_dir = work / "naive-run"
    run_dir.mkdir()
    params = str(ROOT / "parameters" / "demo.yaml")
    started = time.perf_counter()
    for nb in NOTEBOOKS:
        out = work / nb.name
        subprocess.run([str(BIN / "papermill"), str(nb), str(out), "--cwd", str(ROOT / "notebooks"),
                        "-p", "params", params, "-p", "run_dir", str(run_dir), "-p", "step", nb.name[:2],
                        "-k", "python3", "--no-progress-bar"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(out)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    rounds = int(os.environ.get("BENCH_ROUNDS", "2"))
    irlib_times, naive_times = [], []
    with tempfile.TemporaryDirectory(prefix="irlib-bench-demo-") as tmp:
        for i in range(rounds):
            work = Path(tmp) / f"round{i}"
            work.mkdir()
            naive_times.append(run_naive(work))
            irlib_times.append(run_irlib(work / "reports"))
            print(f"round {i + 1}: irlib {irlib_times[-1]:.1f} s, naive {naive_times[-1]:.1f} s", file=sys.stderr)
    best_irlib, best_naive = min(irlib_times), min(naive_times)
    print(json.dumps({"benchmark": "demo_end_to_end", "notebooks": len(NOTEBOOKS), "irlib_s": round(best_irlib, 2),
                      "naive_papermill_nbconvert_s": round(best_naive, 2),
                      "ratio": round(best_irlib / best_naive, 3), "target_ratio_at_most": 0.3,
                      "rounds": rounds}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
