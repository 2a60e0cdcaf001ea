"""Step 01: what is broken, since when, how many are affected, what changed, how severe, first update."""
from __future__ import annotations

from typing import Any

import pandas as pd

from ..display import Answer
from ..investigation import Investigation
from ..summary import onset_text
from . import common, facts


def pod_summary(pods: pd.DataFrame) -> pd.DataFrame:
    """One row per pod: phase, ready, restarts, last termination and waiting reason across its containers."""
    cols = ["pod", "phase", "ready", "restarts", "last_reason", "last_exit_code", "waiting_reason", "node"]
    if pods.empty:
        return pd.DataFrame(columns=cols)
    agg = pods.groupby("pod", sort=True).agg(
        phase=("phase", "first"), ready=("pod_ready", "first"), restarts=("restarts", "sum"),
        last_reason=("last_reason", lambda s: ", ".join(sorted({str(v) for v in s.dropna() if str(v)}))),
        last_exit_code=("last_exit_code", "max"),
        waiting_reason=("waiting_reason", lambda s: ", ".join(sorted({str(v) for v in s.dropna() if str(v)}))),
        node=("node", "first"))
    return agg.reset_index()[cols]


def broken_facts(inv: Investigation) -> dict[str, Any]:
    pods = common.pods(inv)
    per_pod = pod_summary(pods)
    ratio = common.signal_series(inv, "error_ratio", "max")
    p99 = common.signal_series(inv, "latency_p99", "max")
    firing = common.alerts(inv)
    restarts = int(pods["restarts"].fillna(0).sum()) if len(pods) else 0
    last_oom = int((pods["last_reason"] == "OOMKilled").sum()) if len(pods) else 0
    kills = common.oom_kills_from_events(common.events(inv), per_pod["pod"].astype(str).tolist())
    return {
        "pods_total": int(len(per_pod)),
        "pods_not_ready": int((~per_pod["ready"].fillna(False).astype(bool)).sum()) if len(per_pod) else 0,
        "restarts": restarts,
        "oom_killed": last_oom,  # containers whose LAST termination was OOMKilled (the pod status keeps no more)
        "oom_kills": kills,  # OOM kills the events record, None when they record none
        "oom_text": common.oom_text(restarts, kills, last_oom),
        "crash_looping": int((pods["waiting_reason"] == "CrashLoopBackOff").sum()) if len(pods) else 0,
        "error_ratio_peak": float(ratio.max()) if len(ratio) else None,
        "error_ratio_now": float(ratio.dropna().iloc[-1]) if len(ratio.dropna()) else None,
        "latency_p99_peak_s": float(p99.max()) if len(p99) else None,
        "alerts": sorted(set(firing["alertname"].dropna().astype(str))) if len(firing) else [],
    }


def what_is_broken(inv: Investigation) -> Answer:
    ans = Answer("What is broken right now?")
    b = broken_facts(inv)
    name = inv.incident.service["name"]
    if b["pods_total"]:
        ready = b["pods_total"] - b["pods_not_ready"]
        ans.say(f"{ready} of {b['pods_total']} pods of {name} are ready; {pods_sentence(b)}.")
    if b["error_ratio_peak"] is not None:
        ans.say(f"Error ratio (5xx/all) peaked at {common.fmt_pct(b['error_ratio_peak'])}; latest "
                f"{common.fmt_pct(b['error_ratio_now'])}. {latency_sentence(b['latency_p99_peak_s'])}")
    if b["alerts"]:
        ans.say("Alerts that fired in the window: " + ", ".join(b["alerts"]) + ".")
    for reason in (_pods_gap(inv), common.signal_gap(inv, "error_ratio")):
        if reason:
            ans.lack(reason)
    inv.record("broken", b, summary=_broken_summary(b, name))
    return ans.table("Pods", pods_for_display(pod_summary(common.pods(inv))))


def latency_sentence(peak_s: float | None) -> str:
    """The peak p99 latency in ms (or s from 1 s), or that it was not measured."""
    from ..analysis.recovery import value_text

    return "p99 latency not measured." if peak_s is None else f"Peak p99 latency {value_text(peak_s, 'seconds')}."


def pods_sentence(b: dict[str, Any]) -> str:
    """Restarts, what the evidence says of OOM kills, and how many containers are in CrashLoopBackOff."""
    restarts = "their containers restarted " + ("once" if b["restarts"] == 1 else f"{b['restarts']} times")
    oom = b.get("oom_text") or common.oom_text(b["restarts"], None, b["oom_killed"])
    crash = common.counted(b["crash_looping"], "container")
    return f"{restarts}; {oom}; {crash} in CrashLoopBackOff"


def pods_for_display(per_pod: pd.DataFrame) -> pd.DataFrame:
    """The per-pod summary with readiness as yes/no, as the report writes every boolean."""
    return per_pod.assign(ready=per_pod["ready"].map(common.fmt_bool)) if len(per_pod) else per_pod


def _pods_gap(inv: Investigation) -> str:
    return common.gap(inv, "kubernetes", "pods", namespace=inv.incident.namespace, selector=inv.incident.selector)


def _broken_summary(b: dict[str, Any], name: str) -> str:
    """One line for the findings table: pods ready out of all, restarts, OOM kills, peak error ratio."""
    pods = (f"{b['pods_total'] - b['pods_not_ready']} of {b['pods_total']} pods ready" if b["pods_total"] else
            "no pod found")
    errors = (f"error ratio peak {common.fmt_pct(b['error_ratio_peak'])}" if b["error_ratio_peak"] is not None else
              "error ratio not measured")
    oom = b.get("oom_text") or common.oom_text(b["restarts"], None, b["oom_killed"])
    return f"{name}: {pods}, {common.counted(b['restarts'], 'restart')}, {oom}; {errors}"


def since_when(inv: Investigation) -> Answer:
    from ..analysis.onset import Onset, onset_chart

    ans = Answer("Since when?")
    value = facts.onset(inv)
    signals = facts.onset_signals(inv)
    if value.get("time"):
        ans.say(f"Onset {onset_text(value)}. {value['explanation']}")
    else:
        ans.say(f"{onset_text(value).capitalize()}.")
    if not signals:
        ans.lack("no metric or log signal to detect the onset from")
    est = Onset(pd.Timestamp(value["time"]) if value.get("time") else None, float(value.get("confidence", 0)),
                value.get("signals", []), {k: pd.Timestamp(v) if v else None
                                           for k, v in value.get("per_signal", {}).items()})
    if signals:
        ans.figures.append(onset_chart(signals, est, title="Signals with the onset marked"))
    per = pd.DataFrame([{"signal": k, "change point": common.fmt_ts(v)}
                        for k, v in value.get("per_signal", {}).items()])
    return ans.table("Change point per signal", per)


def impact(inv: Investigation) -> Answer:
    ans = Answer("How many users, requests and services are affected?")
    facts_ = impact_facts(inv)
    missing = _request_counts_gap(inv)
    if facts_["requests_total"] is not None:
        ans.say(f"Since the onset, about {facts_['requests_failed']:,.0f} of {facts_['requests_total']:,.0f} "
                f"requests failed ({common.fmt_pct(facts_['affected_fraction'])}).")
    else:
        ans.lack("request counts: " + missing)
    if facts_["users_affected"] is not None:
        ans.say(f"Estimated users affected: {facts_['users_affected']:,.0f} of {facts_['users_total']:,.0f} "
                "(requests-affected fraction applied to the service's users).")
    ans.say(f"Services down (no ready pod): {', '.join(facts_['services_down']) or 'none'}; availability (ready "
            f"pods) {common.fmt_pct(facts_['availability'])}.")
    inv.record("impact", facts_, summary=impact_summary(facts_, missing))
    return ans


def _request_counts_gap(inv: Investigation) -> str:
    return common.signal_gap(inv, "request_rate") or "no request-rate series"


def impact_summary(impact_facts_: dict[str, Any], missing: str) -> str:
    """The failed share of requests since the onset, or that it is unknown and why (``missing``)."""
    fraction = impact_facts_.get("affected_fraction")
    if fraction is None:
        return f"share of failed requests unknown: {missing}"
    return f"{common.fmt_pct(fraction)} of requests failed since the onset"


def impact_facts(inv: Investigation) -> dict[str, Any]:
    rate = common.signal_series(inv, "request_rate", "sum")
    ratio = common.signal_series(inv, "error_ratio", "max")
    onset = facts.onset_time(inv)
    total = failed = fraction = None
    if len(rate):
        after = rate[rate.index >= onset] if onset is not None else rate
        step_s = _step_seconds(after)
        total = float(after.sum() * step_s)
        aligned = ratio.reindex(after.index).fillna(0.0) if len(ratio) else pd.Series(0.0, index=after.index)
        failed = float((after * aligned).sum() * step_s)
        fraction = failed / total if total else 0.0
    pods = assessment_pods(inv)
    availability = float(pods["ready"].fillna(False).astype(bool).mean()) if len(pods) else None
    users_total = inv.incident.service.get("users_total")
    users = float(users_total) * fraction if users_total is not None and fraction is not None else None
    down = [inv.incident.service["name"]] if availability is not None and availability == 0 else []
    return {"requests_total": total, "requests_failed": failed, "affected_fraction": fraction,
            "availability": availability, "services_down": down, "users_total": users_total,
            "users_affected": users}


def assessment_pods(inv: Investigation) -> pd.DataFrame:
    return pod_summary(common.pods(inv))


def _step_seconds(series: pd.Series) -> float:
    if len(series) < 2:
        return 0.0
    return float(pd.Series(series.index).diff().dt.total_seconds().median())


def recent_changes(inv: Investigation) -> Answer:
    ans = Answer("What changed shortly before it started?")
    ranked = facts.suspects(inv)
    history_gap = common.gap(inv, "kubernetes", "rollout_history", namespace=inv.incident.namespace,
                             selector=inv.incident.selector)
    if ranked.empty and (history_gap or facts.onset_time(inv) is None):
        ans.say("No suspect can be named: " + ("the rollout history is unavailable" if history_gap else
                                               "no onset was established") + " (see below).")
    elif ranked.empty:
        ans.say(f"No known change in the {common.lookback_min(inv):.0f} min before the onset: nothing is blamed.")
    else:
        ans.say(f"Top suspect: {ranked.iloc[0]['reason']}.")
    inv.record("suspects", _suspect_list(ranked), summary=str(ranked.iloc[0]["name"]) if len(ranked) else
               "no suspect")
    reason = common.gap(inv, "kubernetes", "rollout_history", namespace=inv.incident.namespace,
                        selector=inv.incident.selector)
    if reason:
        ans.lack(reason)
    return ans.table("Changes ranked as suspects", ranked[["rank", "time", "kind", "name", "detail", "score",
                                                           "reason"]])


def _suspect_list(ranked: pd.DataFrame) -> list[dict[str, Any]]:
    keep = ["rank", "time", "kind", "name", "detail", "target", "namespace", "revision", "previous_revision",
            "minutes_before_onset", "score", "reason"]
    return [{k: (None if pd.isna(v) else (v.isoformat() if isinstance(v, pd.Timestamp) else v))
             for k, v in row.items()} for row in ranked[keep].to_dict("records")]


def severity(inv: Investigation) -> Answer:
    from ..analysis.severity import SeverityInputs, classify_severity

    b = inv.finding("broken") or broken_facts(inv)
    imp = inv.finding("impact") or impact_facts(inv)
    inputs = SeverityInputs(
        peak_error_ratio=b.get("error_ratio_peak"), availability=imp.get("availability"),
        affected_fraction=imp.get("affected_fraction"), services_down=list(imp.get("services_down", [])),
        revenue_critical=bool(inv.incident.service.get("revenue_critical", False)),
        p99_latency_s=b.get("latency_p99_peak_s"))
    sev = classify_severity(inputs, inv.incident.thresholds, inv.incident.severity_override)
    inv.record("severity", sev, summary=f"{sev.level}: {'; '.join(sev.reasons)}")
    ans = Answer("How severe is it: P0, P1 or P2?")
    ans.say(f"{sev.level}{' (override from the parameters)' if sev.overridden else ''}. Response time "
            f"{sev.response_time}; updates {sev.update_cadence}.")
    for reason in sev.reasons:
        ans.say(f"• {reason}")
    return ans


def status_update(inv: Investigation) -> Answer:
    from ..analysis.severity import Severity
    from ..analysis.status import internal_update, status_page_text

    sev_value = inv.finding("severity")
    if sev_value is None:
        severity(inv)
        sev_value = inv.finding("severity")
    sev = Severity(**sev_value)
    imp = inv.finding("impact") or impact_facts(inv)
    suspects = inv.finding("suspects") or []
    onset = facts.onset_time(inv)
    impact_text = common.impact_text(imp)
    action = (f"investigating {suspects[0]['name']} as the likely trigger" if suspects else
              "investigating; no recent change identified")
    internal = internal_update(incident_id=inv.incident.id, title=inv.incident.title, severity=sev,
                               status="investigating", impact=impact_text, current_action=action,
                               as_of=inv.incident.declared_at,
                               onset=onset, commander=inv.incident.raw.get("incident", {}).get("commander"))
    public = status_page_text(service=inv.incident.service["name"], status="investigating",
                              as_of=inv.incident.declared_at,
                              severity=sev, user_impact="Some requests are failing")
    inv.record("status_update", {"internal": internal, "public": public},
               summary=f"first update drafted ({sev.level}, investigating)")
    ans = Answer("First status update")
    ans.markdown = "#### Internal\n\n" + internal + "\n#### Status page\n\n" + public
    return ans
