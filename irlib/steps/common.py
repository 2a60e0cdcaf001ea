"""Shared fetches (one place decides the exact arguments, so steps share evidence and replay matches) and the
header / evidence cells every notebook has."""
from __future__ import annotations

import json

import pandas as pd

from ..analysis.text import counted
from ..display import Answer
from ..investigation import Investigation

ERROR_LEVELS = ("ERROR", "FATAL", "CRITICAL")


# -- fetches ---------------------------------------------------------------------------------------------------
def pods(inv: Investigation) -> pd.DataFrame:
    return inv.cached("pods", lambda: _pods(inv))


def _pods(inv: Investigation) -> pd.DataFrame:
    return inv.kubernetes.pods(namespace=inv.incident.namespace, selector=inv.incident.selector)


def events(inv: Investigation) -> pd.DataFrame:
    w = inv.incident.window
    return inv.kubernetes.events(namespace=inv.incident.namespace, start=w.start, end=w.end)


def pod_logs(inv: Investigation) -> pd.DataFrame:
    return inv.cached("pod_logs", lambda: _pod_logs(inv))


def _pod_logs(inv: Investigation) -> pd.DataFrame:
    w = inv.incident.window
    return inv.kubernetes.pod_logs(namespace=inv.incident.namespace, selector=inv.incident.selector,
                                   start=w.start, end=w.end)


def rollouts(inv: Investigation) -> pd.DataFrame:
    return inv.cached("rollouts", lambda: _rollouts(inv))


def _rollouts(inv: Investigation) -> pd.DataFrame:
    return inv.kubernetes.rollout_history(namespace=inv.incident.namespace, selector=inv.incident.selector)


def pod_usage(inv: Investigation) -> pd.DataFrame:
    return inv.kubernetes.pod_usage(namespace=inv.incident.namespace, selector=inv.incident.selector)


def signal(inv: Investigation, name: str) -> pd.DataFrame:
    w = inv.incident.window
    return inv.cached(f"signal:{name}", lambda: inv.prometheus.signal(name=name, start=w.start, end=w.end))


def alerts(inv: Investigation) -> pd.DataFrame:
    w = inv.incident.window
    return inv.prometheus.alerts(start=w.start, end=w.end)


def git_changes(inv: Investigation) -> pd.DataFrame:
    if not inv.incident.sources.get("git"):
        return pd.DataFrame(columns=["time", "commit", "author", "subject", "files"])
    w = inv.incident.window
    return inv.git.changes(start=w.start - pd.Timedelta(minutes=lookback_min(inv)), end=w.end)


def lookback_min(inv: Investigation) -> float:
    return float(inv.incident.thresholds.get("lookback_min", 120))


def gap(inv: Investigation, source: str, method: str, **args: object) -> str:
    """The reason a fetch of this run failed, or ""."""
    return inv.gap(source, method, **args)


def signal_gap(inv: Investigation, name: str) -> str:
    w = inv.incident.window
    return inv.gap("prometheus", "signal", name=name, start=w.start, end=w.end)


def series(frame: pd.DataFrame, how: str = "sum") -> pd.Series:
    """A long metric frame (timestamp, series, value) folded into one series over time (``sum``/``max``/``mean``)."""
    if frame is None or frame.empty:
        return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC"))
    out = frame.groupby("timestamp")["value"].agg(how).sort_index()
    return out.astype("float64")


def signal_series(inv: Investigation, name: str, how: str = "sum") -> pd.Series:
    return series(signal(inv, name), how)


# -- cells every notebook has ----------------------------------------------------------------------------------
def header(inv: Investigation) -> Answer:
    inc = inv.incident
    mode = f"replaying the evidence bundle {inv.replay_store.run_dir}" if inv.replay_store else "live sources"
    ans = Answer(f"Incident {inc.id}: {inc.title}")
    ans.say(f"Declared {inc.declared_at:%Y-%m-%d %H:%M:%S} UTC; window {inc.window.start:%Y-%m-%d %H:%M} → "
            f"{inc.window.end:%Y-%m-%d %H:%M} UTC. Service {inc.service['name']} in namespace {inc.namespace} "
            f"(selector {inc.selector}).")
    ans.say(f"Evidence: {mode}; this run is written to {inv.run_dir}.")
    return ans


def snapshot(inv: Investigation) -> Answer:
    """Fetch first what expires: events (about an hour), previous container logs, pod statuses."""
    ans = Answer("Snapshot of expiring evidence")
    got = {"events": events(inv), "pod statuses": pods(inv), "container logs (current and previous)": pod_logs(inv)}
    w = inv.incident.window
    gaps = [gap(inv, "kubernetes", "events", namespace=inv.incident.namespace, start=w.start, end=w.end),
            gap(inv, "kubernetes", "pods", namespace=inv.incident.namespace, selector=inv.incident.selector),
            gap(inv, "kubernetes", "pod_logs", namespace=inv.incident.namespace, selector=inv.incident.selector,
                start=w.start, end=w.end)]
    for what, frame in got.items():
        ans.say(f"{what}: {counted(len(frame), 'row')} captured.")
    for reason in filter(None, gaps):
        ans.lack(reason)
    return ans


def evidence_used(inv: Investigation) -> Answer:
    ans = Answer("Evidence used by this step")
    seen: dict[str, object] = {}
    for record in inv.used:
        seen[record.id] = record
    rows = [{"id": r.id, "fetch": f"{r.source}.{r.method}", "status": r.status, "rows": r.rows,
             "truncated": fmt_bool(r.truncated), "reason / notes": r.reason or "; ".join(r.notes), "sha256": r.sha256}
            for r in seen.values()]  # type: ignore[attr-defined]
    frame = pd.DataFrame(rows, columns=["id", "fetch", "status", "rows", "truncated", "reason / notes", "sha256"])
    for row in rows:
        if row["status"] != "ok":
            ans.lack(f"{row['fetch']}: {row['reason / notes']}")
        elif row["truncated"] == "yes":
            ans.say(f"{row['fetch']} hit a cap and is truncated: {row['reason / notes']}")
    if not rows:
        ans.say("This step fetched no evidence.")
    return ans.table("Fetches", frame)


def labels_of(value: object) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    try:
        parsed = json.loads(str(value))
        return {str(k): str(v) for k, v in parsed.items()} if isinstance(parsed, dict) else {}
    except ValueError:
        return {}


def fmt_pct(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value * 100:.1f}%"


def impact_text(impact: dict[str, object] | None) -> str:
    """The impact line of a status update from step 01's ``impact`` finding (None when it recorded none)."""
    fraction = (impact or {}).get("affected_fraction")
    if impact is None:
        return "not assessed yet (step 01 recorded no impact)"
    if fraction is None:
        return "not measured yet (no request metrics)"
    return f"{fmt_pct(float(fraction))} of requests failing since the onset"  # type: ignore[arg-type]


def oom_kills_from_events(events: pd.DataFrame, pod_names: list[str]) -> int | None:
    """How many OOM kills the events of ``pod_names`` record (kernel ``OOMKilling`` events, and ``BackOff`` or
    ``Killing`` events whose message names OOMKilled, each counted by its ``count``); None when none do."""
    if events is None or events.empty or not pod_names:
        return None
    mine = events[events["object_name"].astype(str).isin(pod_names)]
    message = mine["message"].fillna("").astype(str)
    named = mine["reason"].isin(("BackOff", "Killing")) & message.str.contains("OOMKilled", regex=False)
    oom = mine[(mine["reason"] == "OOMKilling") | named]
    if oom.empty:
        return None
    return int(pd.to_numeric(oom["count"], errors="coerce").fillna(1).clip(lower=1).sum())


def oom_text(restarts: int, oom_kills: int | None, last_oom: int) -> str:
    """What the evidence says about OOM kills, never more: the events' count (at most one per restart), else how
    many containers were last terminated by OOMKilled (the pod status keeps only the last termination)."""
    if oom_kills:
        return counted(min(oom_kills, restarts) if restarts else oom_kills, "OOM kill")
    if last_oom:
        subject = "last terminated" if last_oom == 1 else f"{last_oom} containers last terminated"
        return f"{subject} by OOMKilled (exit 137)"
    return "no OOM kill"


def fmt_bool(value: object) -> str:
    """A yes/no answer as the report writes it ("yes", "no"; "unknown" when missing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "unknown"
    return "yes" if bool(value) else "no"


def fmt_ts(value: object) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return "n/a"
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S UTC")  # type: ignore[arg-type]
