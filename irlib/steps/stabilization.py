"""Step 08: recovery verified against the pre-incident band, pods ready, backlogs draining, consistency checks."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..display import Answer
from ..investigation import Investigation
from . import common, facts

if TYPE_CHECKING:
    from ..analysis.recovery import MetricRecovery

def recovery(inv: Investigation) -> Answer:
    from ..analysis.recovery import verify_recovery

    ans = Answer("Are error rate and latency back inside the pre-incident band?")
    onset = facts.onset_time(inv)
    if onset is None:
        return ans.lack("no onset was established, so there is no pre-incident baseline to compare with")
    signals = {name: common.signal_series(inv, name, how) for name, how in (("error_ratio", "max"),
                                                                            ("latency_p99", "max"))}
    mitigation_at = _mitigation_time(inv)
    since = mitigation_at or max(inv.incident.window.end - pd.Timedelta(minutes=15), onset)
    baseline = (inv.incident.window.start, onset - pd.Timedelta(minutes=1))
    result = verify_recovery({k: v for k, v in signals.items() if len(v)}, baseline, since, pods=common.pods(inv))
    ans.say(f"Recent period: since {common.fmt_ts(since)}; baseline: {common.fmt_ts(baseline[0])} → "
            f"{common.fmt_ts(baseline[1])}.")
    ans.say(("Recovered: " if result.recovered else "Not recovered: ") + "; ".join(result.reasons) + ".")
    for item in result.missing:
        ans.lack(item)
    for name, values in signals.items():
        if not len(values):
            ans.lack(f"{name}: " + (common.signal_gap(inv, name) or "no series"))
    inv.record("recovery", result, summary="recovered" if result.recovered else "not recovered")
    return ans.table("Signals against their pre-incident band", recovery_rows(result.metrics))


def recovery_rows(metrics: list[MetricRecovery]) -> pd.DataFrame:
    """One readable row per signal: its pre-incident band, the recent median, the share inside and the verdict."""
    from ..analysis.recovery import band_text, value_text

    rows = [{"signal": m.name,
             "pre-incident band": "—" if m.band_low is None or m.band_high is None else
             band_text(m.band_low, m.band_high, m.unit),
             "recent median": "—" if m.recent_median is None else value_text(m.recent_median, m.unit),
             "inside the band": "—" if m.inside_fraction is None else f"{m.inside_fraction:.0%}",
             "recovered": {True: "yes", False: "no", None: "not measured"}[m.recovered], "detail": m.detail}
            for m in metrics]
    return pd.DataFrame(rows, columns=["signal", "pre-incident band", "recent median", "inside the band",
                                       "recovered", "detail"])


def _mitigation_time(inv: Investigation) -> pd.Timestamp | None:
    """When the latest rollout after the onset happened (a rollback is a rollout), if any."""
    onset = facts.onset_time(inv)
    history = common.rollouts(inv)
    if onset is None or history.empty:
        return None
    after = history[history["created_at"] > onset]
    return after["created_at"].max() if len(after) else None


def pods(inv: Investigation) -> Answer:
    ans = Answer("Are all pods ready and stable?")
    frame = common.pods(inv)
    if frame.empty:
        return ans.lack(common.gap(inv, "kubernetes", "pods", namespace=inv.incident.namespace,
                                   selector=inv.incident.selector) or "no pods match the selector")
    per_pod = frame.groupby("pod").agg(ready=("pod_ready", "first"), restarts=("restarts", "sum"),
                                       waiting=("waiting_reason", "first")).reset_index()
    ready = int(per_pod["ready"].fillna(False).astype(bool).sum())
    ans.say(pods_ready_text(ready, len(per_pod), int(per_pod["restarts"].fillna(0).sum())) + ".")
    return ans.table("Pods", pods_table(per_pod))


def pods_table(per_pod: pd.DataFrame) -> pd.DataFrame:
    """The per-pod table as the report writes it: readiness yes/no, no waiting reason as empty."""
    return per_pod.assign(ready=per_pod["ready"].map(common.fmt_bool), waiting=per_pod["waiting"].fillna(""))


def checks_verdict(total: int, failed: list[str], not_run: list[str]) -> str:
    """``2 of 3 checks pass; failing: x`` (``1 of 1 check passes``), naming the failing and unrun checks."""
    passed = total - len(failed) - len(not_run)
    verdict = f"{passed} of {common.counted(total, 'check')} " + ("passes" if total == 1 else "pass")
    verdict += f"; failing: {', '.join(failed)}" if failed else ""
    return verdict + (f"; could not run: {', '.join(not_run)}" if not_run else "")


def pods_ready_text(ready: int, total: int, restarts: int) -> str:
    """``3 of 4 pods ready; 1 restart in total`` (as step 01 words it: "of 1 pods")."""
    return f"{ready} of {total} pods ready; {common.counted(restarts, 'restart')} in total"


def check_result_text(result_rows: object, value: object) -> str:
    """What a consistency check returned: ``1 row; value 0``."""
    return f"{common.counted(int(result_rows), 'row')}; value {value}"  # type: ignore[call-overload]


def backlog(inv: Investigation) -> Answer:
    from ..analysis.recovery import backlog_drain

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
        ans.say(f"{name}: {backlog_drain(values).detail}")
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
                         "result": check_result_text(row["result_rows"], row["value"])})
    failed = [r["check"] for r in rows if r["passed"] is False]
    not_run = [r["check"] for r in rows if r["passed"] is None]
    verdict = checks_verdict(len(rows), failed, not_run)
    ans.say(verdict + ".")
    inv.record("consistency", rows, summary=verdict)
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
                               impact=common.impact_text(inv.finding("impact")),
                               current_action=str(mitigation), as_of=as_of,
                               onset=facts.onset_time(inv),
                               commander=inv.incident.raw.get("incident", {}).get("commander"))
    public = status_page_text(service=inv.incident.service["name"], status=status, as_of=as_of, severity=sev)
    ans.markdown = "#### Internal\n\n" + internal + "\n#### Status page\n\n" + public
    return ans
