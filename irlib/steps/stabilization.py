"""Step 08: recovery verified against the pre-incident band, pods ready, backlogs draining, consistency checks."""
from __future__ import annotations

import pandas as pd

from ..display import Answer
from ..investigation import Investigation
from . import common, facts

BACKLOG_SIGNALS = ("queue_depth",)


def _baseline_and_recent(inv: Investigation, name: str, how: str) -> tuple[pd.Series, pd.Series]:
    values = common.signal_series(inv, name, how)
    onset = facts.onset_time(inv)
    if not len(values) or onset is None:
        return values.iloc[0:0], values
    return values[values.index < onset], values[values.index >= onset]


def recovery(inv: Investigation) -> Answer:
    from ..analysis.recovery import back_in_band

    ans = Answer("Are error rate and latency back inside the pre-incident band?")
    results = []
    for name, how in (("error_ratio", "max"), ("latency_p99", "max")):
        baseline, recent = _baseline_and_recent(inv, name, how)
        if not len(recent):
            ans.lack(f"{name}: " + (common.signal_gap(inv, name) or "no series"))
            continue
        if not len(baseline):
            ans.lack(f"{name}: no pre-incident baseline (no onset or no data before it)")
            continue
        results.append(back_in_band(name, baseline, recent))
    recovered = bool(results) and all(r.recovered for r in results)
    for r in results:
        ans.say(r.explanation)
    ans.say("Recovered: the signals are back inside their pre-incident band." if recovered else
            "Not recovered yet (or not measurable): keep the incident open.")
    inv.record("recovery", {"recovered": recovered, "signals": [r.__dict__ for r in results]},
               summary="recovered" if recovered else "not recovered")
    return ans


def pods(inv: Investigation) -> Answer:
    ans = Answer("Are all pods ready and stable?")
    frame = common.pods(inv)
    if frame.empty:
        return ans.lack(common.gap(inv, "kubernetes", "pods", namespace=inv.incident.namespace,
                                   selector=inv.incident.selector) or "no pods match the selector")
    per_pod = frame.groupby("pod").agg(ready=("pod_ready", "first"), restarts=("restarts", "sum"),
                                       waiting=("waiting_reason", "first")).reset_index()
    ready = int(per_pod["ready"].fillna(False).astype(bool).sum())
    ans.say(f"{ready} of {len(per_pod)} pods ready; {int(per_pod['restarts'].fillna(0).sum())} restarts in total.")
    return ans.table("Pods", per_pod)


def backlog(inv: Investigation) -> Answer:
    from ..analysis.recovery import backlog_eta

    ans = Answer("Are backlogs draining, and when will they be empty?")
    queries = (inv.incident.sources.get("prometheus") or {}).get("queries", {})
    names = [n for n in queries if n.startswith("backlog") or n.startswith("queue")]
    if not names:
        return ans.say("No backlog or queue metric is configured (sources.prometheus.queries with a name "
                       "starting with backlog or queue); nothing to drain.")
    for name in names:
        values = common.signal_series(inv, name, "sum")
        if not len(values):
            ans.lack(f"{name}: " + (common.signal_gap(inv, name) or "no series"))
            continue
        eta = backlog_eta(values)
        ans.say(f"{name}: {eta.explanation}")
    return ans


def consistency(inv: Investigation) -> Answer:
    ans = Answer("Do the data-consistency checks pass?")
    checks = inv.incident.checks
    if not checks:
        return ans.say("No data-consistency checks are defined in the parameters (checks:).")
    rows = []
    for check in checks:
        frame = inv.sql.check(database=check["database"], name=check["name"])
        if frame.empty:
            reason = common.gap(inv, "sql", "check", database=check["database"], name=check["name"])
            rows.append({"check": check["name"], "passed": None, "result": reason or "no result"})
            ans.lack(f"check {check['name']}: {reason}")
        else:
            row = frame.iloc[0]
            rows.append({"check": check["name"], "passed": bool(row["passed"]),
                         "result": f"{row['result_rows']} row(s); value {row['value']}"})
    failed = [r["check"] for r in rows if r["passed"] is False]
    ans.say(f"{len(rows) - len(failed)} of {len(rows)} checks pass" + (f"; failing: {', '.join(failed)}" if failed
                                                                       else "") + ".")
    inv.record("consistency", rows)
    return ans.table("Checks", pd.DataFrame(rows))


def status_update(inv: Investigation) -> Answer:
    from ..analysis.severity import Severity
    from ..analysis.status import internal_update, status_page_text

    ans = Answer("Status update")
    sev_value = inv.finding("severity")
    if sev_value is None:
        return ans.lack("no severity recorded (run step 01 first)")
    sev = Severity(**sev_value)
    recovered = bool((inv.finding("recovery") or {}).get("recovered"))
    status = "monitoring" if recovered else "identified"
    mitigation = (inv.finding("mitigation") or {}).get("title", "mitigation being decided")
    as_of = inv.incident.window.end
    internal = internal_update(incident_id=inv.incident.id, title=inv.incident.title, severity=sev, status=status,
                               impact="see step 01", current_action=str(mitigation), as_of=as_of,
                               onset=facts.onset_time(inv))
    public = status_page_text(service=inv.incident.service["name"], status=status, as_of=as_of, severity=sev)
    ans.markdown = "#### Internal\n\n" + internal + "\n#### Status page\n\n" + public
    return ans
