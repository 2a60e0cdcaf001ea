"""Step 04: resources against limits, hotspots, time to exhaustion (the leak's predicted OOM), restart pattern."""
from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ..charts import signals_chart
from ..display import Answer
from ..investigation import Investigation
from . import common, facts

MIB = 2.0 ** 20


def per_pod(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """A long metric frame split into one series per pod label (series without a pod label are grouped as '')."""
    if frame.empty:
        return {}
    pods = frame["labels"].map(lambda v: common.labels_of(v).get("pod", ""))
    return {str(pod): part.groupby("timestamp")["value"].max().sort_index()
            for pod, part in frame.assign(pod=pods).groupby("pod")}


def live_pods(series: dict[str, pd.Series], gone_after: pd.Timedelta = pd.Timedelta(minutes=2)) -> dict[str, pd.Series]:
    """Only the pods still reporting at the end (a pod replaced by a rollout cannot run out of anything)."""
    ends = {pod: s.index.max() for pod, s in series.items() if len(s)}
    if not ends:
        return {}
    last = max(ends.values())
    return {pod: series[pod] for pod, end in ends.items() if end >= last - gone_after}


def memory_limit_bytes(inv: Investigation) -> float | None:
    """The memory limit of the service's containers in bytes (Prometheus, else the pods' spec), None when unset."""
    limits = common.signal_series(inv, "memory_limit", "max")
    if len(limits):
        return float(limits.max())
    pods = common.pods(inv)
    values = pods["memory_limit"].dropna() if len(pods) else pd.Series(dtype=float)
    return float(values.max()) if len(values) else None


def resources(inv: Investigation) -> Answer:
    from ..analysis.capacity import capacity_table, readable_capacity

    ans = Answer("CPU, memory and restarts against requests and limits")
    memory = per_pod(common.signal(inv, "memory_working_set"))
    cpu = per_pod(common.signal(inv, "cpu_usage"))
    restarts = per_pod(common.signal(inv, "restarts"))
    limit = memory_limit_bytes(inv)
    limit_series = {"limit": pd.Series(limit, index=next(iter(memory.values())).index)} if memory and limit else {}
    w = inv.incident.window
    in_mib = {name: values / MIB for name, values in {**memory, **limit_series}.items()}
    ans.figures.append(signals_chart(
        {"memory working set (MiB)": in_mib, "CPU (cores)": cpu, "restarts": restarts},
        onset=facts.onset_time(inv), window=(w.start, w.end), title="Saturation against limits, per pod"))
    cpu_limit = _pods_limit(inv, "cpu_limit")
    table = capacity_table({f"memory {p}": s for p, s in memory.items()} | {f"cpu {p}": s for p, s in cpu.items()},
                           {**{f"memory {p}": limit for p in memory}, **{f"cpu {p}": cpu_limit for p in cpu}},
                           {**{f"memory {p}": "bytes" for p in memory}, **{f"cpu {p}": "cores" for p in cpu}})
    for name in ("memory_working_set", "cpu_usage", "restarts"):
        reason = common.signal_gap(inv, name)
        if reason:
            ans.lack(reason)
    return ans.table("Usage against limits", readable_capacity(table))


def _pods_limit(inv: Investigation, column: str) -> float | None:
    pods = common.pods(inv)
    values = pods[column].dropna() if len(pods) else pd.Series(dtype=float)
    return float(values.max()) if len(values) else None


def hotspots(inv: Investigation) -> Answer:
    ans = Answer("Which pods and containers are the hotspots?")
    usage = common.pod_usage(inv)
    if usage.empty:
        ans.lack(common.gap(inv, "kubernetes", "pod_usage", namespace=inv.incident.namespace,
                            selector=inv.incident.selector) or "metrics.k8s.io returned no usage")
    else:
        pods = common.pods(inv)[["pod", "container", "cpu_limit", "memory_limit"]]
        merged = usage.merge(pods, on=["pod", "container"], how="left")
        ans.table("Current usage (metrics.k8s.io)", readable_usage(merged))
    memory = per_pod(common.signal(inv, "memory_working_set"))
    peaks = pd.DataFrame([{"pod": p, "peak memory (MiB)": round(float(s.max()) / 2**20, 1)}
                          for p, s in memory.items()])
    if len(peaks):
        ans.table("Peak memory per pod (Prometheus)", peaks.sort_values("peak memory (MiB)", ascending=False))
    return ans


def readable_usage(merged: pd.DataFrame) -> pd.DataFrame:
    """Current usage per container with its limits, in MiB/GiB, cores and percent of the limit, most used first."""
    from ..analysis.capacity import format_amount

    frame = merged.assign(memory_of_limit=merged["memory_bytes"] / merged["memory_limit"],
                          cpu_of_limit=merged["cpu_cores"] / merged["cpu_limit"])
    frame = frame.sort_values("memory_of_limit", ascending=False)
    rows = [{"pod": r.pod, "container": r.container, "memory": format_amount(_num(r.memory_bytes), "bytes"),
             "memory limit": format_amount(_num(r.memory_limit), "bytes"),
             "memory of limit": _percent(r.memory_of_limit), "CPU": format_amount(_num(r.cpu_cores), "cores"),
             "CPU limit": format_amount(_num(r.cpu_limit), "cores"), "CPU of limit": _percent(r.cpu_of_limit)}
            for r in frame.itertuples(index=False)]
    return pd.DataFrame(rows, columns=["pod", "container", "memory", "memory limit", "memory of limit", "CPU",
                                       "CPU limit", "CPU of limit"])


def _num(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def _percent(value: object) -> str:
    number = _num(value)
    return "—" if number is None else f"{number:.0%}"


def exhaustion(inv: Investigation) -> Answer:
    from ..analysis.capacity import capacity_chart, time_to_exhaustion

    ans = Answer("When does the resource run out?")
    memory = live_pods(per_pod(common.signal(inv, "memory_working_set")))
    limit = memory_limit_bytes(inv)
    if not memory:
        return ans.lack("memory: " + (common.signal_gap(inv, "memory_working_set") or "no series"))
    fits = {pod: time_to_exhaustion(series, limit, unit="bytes") for pod, series in memory.items()}
    pod, fit = _soonest(fits)
    summary = exhaustion_summary(pod, fit)
    ans.say(summary + ".")
    ans.figures.append(capacity_chart(memory[pod], limit, fit, title=f"Memory of {pod}"))
    # leak says whether a leak is established (step 06 reads it); r2 is its fit (None without a leak); fit_r2 always
    inv.record("exhaustion", {"pod": pod, "summary": summary, "predicted_at": fit.predicted_at,
                              "hours_left": fit.hours_left, "slope_per_hour": fit.slope_per_hour,
                              "r2": fit.r2 if fit.leak else None, "fit_r2": fit.r2,
                              "limit": limit, "verdict": fit.verdict, "leak": fit.leak}, summary=summary)
    return ans.table("Per pod", exhaustion_rows(fits))


def exhaustion_rows(fits: dict[str, Any]) -> pd.DataFrame:
    """One readable row per pod: verdict, predicted OOM (UTC), time left, growth per hour and the fit's r²."""
    from ..analysis.capacity import format_rate, format_time_left

    rows = [{"pod": p, "verdict": f.verdict, "predicted OOM": common.fmt_ts(f.predicted_at) if f.predicted_at
             is not None else "—", "time left": format_time_left(f.hours_left),
             "growth": format_rate(f.slope_per_hour, "bytes"), "fit r²": "—" if f.r2 is None else f"{f.r2:.2f}"}
            for p, f in fits.items()]
    return pd.DataFrame(rows, columns=["pod", "verdict", "predicted OOM", "time left", "growth", "fit r²"])


def exhaustion_summary(pod: str, fit: Any) -> str:
    """One sentence in MiB/GiB and seconds/minutes/hours: how fast memory grows and when it meets its limit
    (only for an established leak; otherwise the verdict, which says why no leak is established)."""
    from ..analysis.capacity import format_amount, format_duration, format_rate

    if not fit.leak or fit.predicted_at is None or fit.slope_per_hour is None or not fit.limit:
        return f"pod {pod}: {fit.verdict}"
    left = fit.hours_left or 0.0
    when = "it is already at its limit" if left <= 0 else f"{format_duration(left * 3600)} after the last sample"
    return (f"pod {pod}: memory grows {format_rate(fit.slope_per_hour, 'bytes')} (a steady leak, r² {fit.r2:.2f}) "
            f"and reaches its {format_amount(fit.limit, 'bytes')} limit at {common.fmt_ts(fit.predicted_at)}, "
            f"{when}: predicted OOM kill")


def _soonest(fits: dict[str, Any]) -> tuple[str, Any]:
    ranked = sorted(fits.items(), key=lambda kv: (kv[1].predicted_at is None,
                                                  kv[1].predicted_at or pd.Timestamp.max.tz_localize("UTC")))
    return ranked[0]


def restart_pattern(inv: Investigation) -> Answer:
    from ..analysis.capacity import restart_pattern as pattern

    ans = Answer("Does the restart pattern look like a leak?")
    times = restart_times(common.signal(inv, "restarts"))
    if not times:
        pods = common.pods(inv)
        times = [t for t in pods["last_finished_at"].dropna()] if len(pods) else []
    result = pattern(times)
    ans.say(result.explanation)
    inv.record("restart_pattern", result, summary=result.explanation)
    return ans


def restart_times(frame: pd.DataFrame) -> list[pd.Timestamp]:
    """The times a restart counter went up, over every series."""
    out: list[pd.Timestamp] = []
    for _, part in frame.groupby("series") if len(frame) else []:
        values = part.sort_values("timestamp").set_index("timestamp")["value"]
        out.extend(values.index[values.diff() > 0])
    return sorted(out)


def _labels(value: object) -> dict[str, str]:
    return common.labels_of(json.loads(value) if isinstance(value, str) and value.startswith("{") else value)
