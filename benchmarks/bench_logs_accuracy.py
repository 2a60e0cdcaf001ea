"""Grouping accuracy of irlib's template miner vs Drain3 on the loghub 2k samples (corrected ground truth).

A line is right when the set of lines in its group equals the set of lines in its ground-truth group.  Both parsers
see the same header-stripped ``Content`` column.  Drain3 gets the usual per-dataset masking and settings from the
logparser benchmark (Drain_benchmark.py); irlib runs with its one general configuration (no per-dataset tuning).

Reads ``../shared/realdata/logs/loghub_2k_corrected`` beside the project; prints progress to stderr and one JSON
line on stdout.  Exits 0 with ``"skipped": "realdata absent"`` when the data is not there.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa

from irlib.logs.templates import mine

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "realdata" / "logs" / "loghub_2k_corrected"
if not DATA.is_dir():
    DATA = Path("/work/shared/realdata/logs/loghub_2k_corrected")

# logparser benchmark/Drain_benchmark.py settings: (masking regexes, similarity threshold, depth)
DRAIN_SETTINGS: dict[str, tuple[list[str], float, int]] = {
    "HDFS": ([r"blk_-?\d+", r"(\d+\.){3}\d+(:\d+)?"], 0.5, 4),
    "Hadoop": ([r"(\d+\.){3}\d+"], 0.5, 4),
    "Spark": ([r"(\d+\.){3}\d+", r"\b[KGTM]?B\b", r"([\w-]+\.){2,}[\w-]+"], 0.5, 4),
    "Zookeeper": ([r"(/|)(\d+\.){3}\d+(:\d+)?"], 0.5, 4),
    "BGL": ([r"core\.\d+"], 0.5, 4),
    "HPC": ([r"=\d+"], 0.5, 4),
    "Linux": ([r"(\d+\.){3}\d+", r"\d{2}:\d{2}:\d{2}"], 0.39, 6),
    "Android": ([r"(/[\w-]+)+", r"([\w-]+\.){2,}[\w-]+",
                 r"\b(\-?\+?\d+)\b|\b0[Xx][a-fA-F\d]+\b|\b[a-fA-F\d]{4,}\b"], 0.2, 6),
    "Apache": ([r"(\d+\.){3}\d+"], 0.5, 4),
    "OpenSSH": ([r"(\d+\.){3}\d+", r"([\w-]+\.){2,}[\w-]+"], 0.6, 5),
}


def grouping_accuracy(truth: list[str], predicted: list[str]) -> float:
    """Share of lines whose predicted group has exactly the same lines as their ground-truth group."""
    frame = pd.DataFrame({"t": truth, "p": predicted})
    truth_sizes = frame.groupby("t").size()
    pred_sizes = frame.groupby("p").size()
    pair_sizes = frame.groupby(["p", "t"]).size()
    correct = 0
    for (p, t), n in pair_sizes.items():
        if n == pred_sizes[p] and n == truth_sizes[t]:
            correct += int(n)
    return correct / len(frame)


def irlib_groups(contents: list[str]) -> list[str]:
    mined = mine(pa.array(contents, pa.string()), pa.array([""] * len(contents), pa.string()))
    return [str(i) for i in mined.row_template.to_pylist()]


def drain3_groups(system: str, contents: list[str]) -> list[str]:
    from drain3 import TemplateMiner
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    regexes, sim, depth = DRAIN_SETTINGS.get(system, ([], 0.4, 4))
    config = TemplateMinerConfig()
    config.drain_sim_th = sim
    config.drain_depth = depth
    config.masking_instructions = [MaskingInstruction(r, "*") for r in regexes]
    config.profiling_enabled = False
    miner = TemplateMiner(config=config)
    return [str(miner.add_log_message(c)["cluster_id"]) for c in contents]


def main() -> int:
    if not DATA.is_dir():
        print(json.dumps({"benchmark": "logs_accuracy", "skipped": "realdata absent"}))
        return 0
    results: dict[str, dict[str, float]] = {}
    for sysdir in sorted(p for p in DATA.iterdir() if p.is_dir()):
        system = sysdir.name
        frame = pd.read_csv(sysdir / f"{system}_2k.log_structured_corrected.csv", dtype=str, keep_default_na=False)
        contents = frame["Content"].tolist()
        truth = frame["EventTemplate"].tolist()
        t0 = time.perf_counter()
        ours = grouping_accuracy(truth, irlib_groups(contents))
        t1 = time.perf_counter()
        theirs = grouping_accuracy(truth, drain3_groups(system, contents))
        t2 = time.perf_counter()
        results[system] = {"irlib": round(ours, 4), "drain3": round(theirs, 4)}
        print(f"{system:10s} irlib {ours:.3f} ({t1 - t0:.2f}s)  drain3 {theirs:.3f} ({t2 - t1:.2f}s)", file=sys.stderr)
    avg_ours = sum(r["irlib"] for r in results.values()) / len(results)
    avg_theirs = sum(r["drain3"] for r in results.values()) / len(results)
    worst_gap = min(r["irlib"] - r["drain3"] for r in results.values())
    out = {"benchmark": "logs_accuracy", "metric": "grouping_accuracy", "systems": results,
           "average": {"irlib": round(avg_ours, 4), "drain3": round(avg_theirs, 4)},
           "worst_gap_points": round(100 * worst_gap, 2),
           "target_met": avg_ours >= avg_theirs and worst_gap >= -0.05}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
