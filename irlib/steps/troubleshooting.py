"""Step 02: error logs, golden signals, recent changes, health checks, dependencies."""
from __future__ import annotations

import pandas as pd

from ..charts import counts_chart, signals_chart
from ..display import Answer
from ..investigation import Investigation
from . import common, facts

HEALTH_REASONS = ("Unhealthy", "BackOff", "Killing", "OOMKilling", "Failed", "FailedScheduling", "Evicted",
                  "ProbeWarning", "NodeNotReady")


def error_logs(inv: Investigation) -> Answer:
    from ..logs.analysis import assign_templates, template_counts, top_errors

    ans = Answer("Which errors do the logs show, and how did they evolve?")
    records = facts.log_records(inv)
    if records.empty:
        return ans.lack("no log records: " + (_logs_gap(inv) or "no log source configured and no container logs"))
    top = top_errors(records, limit=15)
    if top.empty:
        ans.say(f"{common.counted(len(records), 'log record')}, none at WARN level or above.")
        inv.record("top_error_template", {"template": None, "count": 0, "level": ""},
                   summary="no error or warning in the logs")
        return ans
    first = top.iloc[0]
    ans.say(f"{common.counted(len(records), 'log record')}; the most frequent error template "
            f"({_times(int(first['count']))}): "
            f"{first['template']}")
    inv.record("top_error_template", {"template": str(first["template"]), "count": int(first["count"]),
                                      "level": str(first.get("level", ""))}, summary=str(first["template"]))
    errors = assign_templates(records[records["level"].isin(("WARN",) + common.ERROR_LEVELS)])
    counts = template_counts(errors, bucket="1min")
    ans.figures.append(counts_chart(counts, time_col="timestamp", group_col="template_id", value_col="count",
                                    onset=facts.onset_time(inv), title="Top error templates per minute"))
    return ans.table("Top errors and warnings", top)


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _logs_gap(inv: Investigation) -> str:
    w = inv.incident.window
    return common.gap(inv, "kubernetes", "pod_logs", namespace=inv.incident.namespace,
                      selector=inv.incident.selector, start=w.start, end=w.end)


def golden_signals(inv: Investigation) -> Answer:
    ans = Answer("Error rate, latency and saturation over the window")
    s = {name: common.signal_series(inv, name, how) for name, how in (
        ("request_rate", "sum"), ("error_ratio", "max"), ("latency_p50", "max"), ("latency_p95", "max"),
        ("latency_p99", "max"), ("cpu_usage", "sum"), ("memory_working_set", "max"), ("memory_limit", "max"))}
    panels = {
        "requests/s": {"request rate": s["request_rate"]},
        "error ratio": {"5xx / all": s["error_ratio"]},
        "latency (s)": {"p50": s["latency_p50"], "p95": s["latency_p95"], "p99": s["latency_p99"]},
        "memory (bytes)": {"working set (max pod)": s["memory_working_set"], "limit": s["memory_limit"]},
        "CPU (cores)": {"usage": s["cpu_usage"]},
    }
    w = inv.incident.window
    ans.figures.append(signals_chart(panels, onset=facts.onset_time(inv), window=(w.start, w.end),
                                     title=f"{inv.incident.service['name']}: golden signals"))
    for name, values in s.items():
        if not len(values):
            ans.lack(f"{name}: " + (common.signal_gap(inv, name) or "the query returned no series"))
    return ans.table("Signal ranges", signal_ranges(s))


def signal_ranges(signals: dict[str, pd.Series]) -> pd.DataFrame:
    """Min, max and last value of each signal in its unit (% for ratios, ms/s for latency, MiB for memory)."""
    from ..analysis.recovery import unit_of, value_text

    rows = []
    for name, values in signals.items():
        clean = values.dropna()
        if not len(clean):
            continue
        unit = unit_of(name)
        rows.append({"signal": name, "min": value_text(float(clean.min()), unit),
                     "max": value_text(float(clean.max()), unit), "last": value_text(float(clean.iloc[-1]), unit)})
    return pd.DataFrame(rows, columns=["signal", "min", "max", "last"])


def changes(inv: Investigation) -> Answer:
    ans = Answer("Which deployments and configuration changes happened recently?")
    history = common.rollouts(inv)
    if history.empty:
        ans.lack(common.gap(inv, "kubernetes", "rollout_history", namespace=inv.incident.namespace,
                            selector=inv.incident.selector) or "no Deployment matches the service's selector")
    else:
        current = history[history["current"].fillna(False).astype(bool)]
        ans.say("Current revision: " + ", ".join(f"{r.kind}/{r.name} revision {r.revision}"
                                                 for r in current.itertuples()) + ".")
        ans.table("Rollout history", history.sort_values("created_at", ascending=False))
    git = common.git_changes(inv)
    if inv.incident.sources.get("git"):
        ans.table("Configuration repository commits", git)
    else:
        ans.say("No configuration repository is set in the parameters (sources.git); config changes not checked.")
    all_changes = facts.changes(inv)
    return ans.table("All changes in the window", all_changes)


def health(inv: Investigation) -> Answer:
    ans = Answer("Are the health checks passing?")
    pods = common.pods(inv)
    if len(pods):
        ready = pods.groupby("pod")["pod_ready"].first()
        ans.say(f"{int(ready.fillna(False).astype(bool).sum())} of {len(ready)} pods ready.")
    up = common.signal(inv, "up")
    if len(up):
        last = up.sort_values("timestamp").groupby("series").tail(1)
        down = last[last["value"] < 1]
        ans.say(f"Scrape targets up: {int((last['value'] >= 1).sum())} of {len(last)}; down: {len(down)}.")
    ev = common.events(inv)
    probes = ev[ev["reason"].isin(HEALTH_REASONS)] if len(ev) else ev
    if len(probes):
        summary = probes.groupby(["reason", "object_name"], as_index=False).agg(
            count=("count", "sum"), first=("time", "min"), last=("time", "max"),
            message=("message", "last"))
        ans.table("Health-related events", summary.sort_values("count", ascending=False))
    elif ev.empty:
        ans.lack(common.gap(inv, "kubernetes", "events", namespace=inv.incident.namespace,
                            start=inv.incident.window.start, end=inv.incident.window.end) or "no events")
    return ans


def dependencies(inv: Investigation) -> Answer:
    ans = Answer("Are the dependencies healthy?")
    deps = inv.incident.service.get("dependencies", [])
    if not deps and not inv.incident.sources.get("databases"):
        ans.say("No dependencies are listed in the parameters (service.dependencies, sources.databases).")
    for db in inv.incident.sources.get("databases", []):
        conns = inv.sql.connections(database=db["name"])
        if conns.empty:
            ans.lack(f"database {db['name']}: " + (common.gap(inv, "sql", "connections", database=db["name"])
                                                  or "no connection data"))
        else:
            ans.table(f"Database {db['name']}: connections", conns)
    records = facts.log_records(inv)
    if len(records) and deps:
        text = records["message"].fillna("").str.lower()
        rows = [{"dependency": d, "log records mentioning it": int(text.str.contains(d.lower(), regex=False).sum()),
                 "of which errors": int((text.str.contains(d.lower(), regex=False)
                                         & records["level"].isin(common.ERROR_LEVELS)).sum())} for d in deps]
        ans.table("Dependencies mentioned in the logs", pd.DataFrame(rows))
    return ans
