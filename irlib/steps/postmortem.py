"""Step 12: one merged timeline, the response times, and the blameless postmortem filled from the findings."""
from __future__ import annotations

import pandas as pd

from ..display import Answer
from ..fsutil import write_text
from ..investigation import Investigation
from . import common, facts

POSTMORTEM_FILE = "postmortem.md"


def timeline_frame(inv: Investigation) -> pd.DataFrame:
    from ..analysis.timeline import marker, merge_timeline

    events = common.events(inv)
    warnings = events[events["type"] == "Warning"] if len(events) else events
    shaped_events = pd.DataFrame({
        "time": warnings["time"], "kind": "event", "source": "kubernetes",
        "title": warnings["reason"].astype(str) + " " + warnings["object_kind"].astype(str) + "/"
        + warnings["object_name"].astype(str) + " ×" + warnings["count"].astype(str),
        "detail": warnings["message"]}) if len(warnings) else None
    alerts = common.alerts(inv)
    shaped_alerts = pd.DataFrame({"time": alerts["starts_at"], "kind": "alert", "source": "prometheus",
                                  "title": "alert " + alerts["alertname"].astype(str) + " firing",
                                  "detail": alerts["labels"]}) if len(alerts) else None
    t = key_times(inv)
    return merge_timeline(
        facts.changes(inv)[lambda f: f["kind"] != "alert"].assign(source="changes"), shaped_events, shaped_alerts,
        marker(t["onset"], "onset", "onset (change point)", detail=str(facts.onset(inv).get("explanation", ""))),
        marker(t["first_error"], "first_error", "first error logged"),
        marker(t["detected"], "detection", "detected (first alert)" if t["detected"] != t["declared"] else
               "detected (at the declaration; no alert fired)"),
        marker(t["declared"], "acknowledged", "incident declared"),
        marker(t["mitigated"], "mitigation", "mitigation (rollout after the onset)"),
        marker(t["recovered"], "recovery", "signals back inside the pre-incident band"))


def key_times(inv: Investigation) -> dict[str, pd.Timestamp | None]:
    """Onset, first error, detection (first alert, else declaration), declaration, mitigation, recovery."""
    from .stabilization import _mitigation_time

    records = facts.log_records(inv)
    errors = records[records["level"].isin(common.ERROR_LEVELS)] if len(records) else records
    onset = facts.onset_time(inv)
    first_error = errors["timestamp"].min() if len(errors) else None
    if onset is not None and len(errors):
        after = errors[errors["timestamp"] >= onset - pd.Timedelta(minutes=5)]
        first_error = after["timestamp"].min() if len(after) else first_error
    alerts = common.alerts(inv)
    firing = alerts["starts_at"].dropna() if len(alerts) else pd.Series(dtype=object)
    if onset is not None and len(firing):
        firing = firing[firing >= onset - pd.Timedelta(minutes=5)]
    declared = inv.incident.declared_at
    detected = firing.min() if len(firing) else declared
    mitigated = _mitigation_time(inv)
    recovery = inv.finding("recovery") or {}
    recovered = inv.incident.window.end if recovery.get("recovered") else None
    return {"onset": onset, "first_error": _ts(first_error), "detected": _ts(detected), "declared": declared,
            "mitigated": mitigated, "recovered": recovered}


def _ts(value: object) -> pd.Timestamp | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value)  # type: ignore[arg-type]


def timeline(inv: Investigation) -> Answer:
    from ..analysis.timeline import timeline_chart

    ans = Answer("Timeline from all sources")
    frame = timeline_frame(inv)
    if frame.empty:
        return ans.lack("no timed evidence at all: no events, alerts, changes or onset")
    ans.figures.append(timeline_chart(frame, title=f"{inv.incident.id}: timeline"))
    inv.record("timeline", frame, summary=f"{len(frame)} entries")
    return ans.table("Timeline", frame)


def _inputs(inv: Investigation):  # -> PostmortemInputs
    from ..analysis.postmortem import ActionItem, PostmortemInputs
    from ..analysis.severity import Severity
    from .fix import root_cause

    t = key_times(inv)
    sev = inv.finding("severity")
    impact = inv.finding("impact") or {}
    broken = inv.finding("broken") or {}
    mitigation = inv.finding("mitigation") or {}
    suspects = facts.suspects(inv)
    cause = (inv.finding("root_cause") or root_cause(inv)).get("text") or None
    impact_lines = []
    if impact.get("requests_total"):
        impact_lines.append(f"about {impact['requests_failed']:,.0f} of {impact['requests_total']:,.0f} requests "
                            f"failed after the onset ({common.fmt_pct(impact.get('affected_fraction'))})")
    if broken.get("pods_total"):
        oom = broken.get("oom_text") or common.oom_text(broken["restarts"], None, broken.get("oom_killed") or 0)
        impact_lines.append(f"{common.counted(broken['restarts'], 'container restart')}, {oom}, "
                            f"error ratio peak {common.fmt_pct(broken.get('error_ratio_peak'))}")
    gaps = [f"{r.source}.{r.method}: {r.reason}" for r in inv.store.records() if r.status != "ok"]
    actions = [ActionItem(check, "service owners", "P1") for check in _regression_checks(inv)]
    return PostmortemInputs(
        incident_id=inv.incident.id, title=inv.incident.title, service=inv.incident.service["name"],
        severity=Severity(**sev) if sev else None, summary=cause, started_at=t["onset"],
        detected_at=t["detected"], acknowledged_at=t["declared"], mitigated_at=t["mitigated"],
        resolved_at=t["recovered"], onset_confidence=facts.onset(inv).get("confidence"), impact=impact_lines,
        timeline=timeline_frame(inv), root_cause=cause, suspects=suspects,
        resolution=mitigation.get("title"), action_items=actions, missing_evidence=sorted(set(gaps)))


def _regression_checks(inv: Investigation) -> list[str]:
    from .regression import resilience_checks

    return resilience_checks(inv)


def durations(inv: Investigation) -> Answer:
    from ..analysis.postmortem import response_times
    from ..analysis.text import fmt_duration

    ans = Answer("Time to detect, acknowledge, mitigate and resolve")
    times = response_times(_inputs(inv))
    rows = [("time to detect (onset → first alert)", times.ttd_s), ("time to acknowledge (alert → declared)",
            times.tta_s), ("time to mitigate (onset → mitigation)", times.ttm_s),
            ("time to resolve (onset → recovered)", times.ttr_s)]
    inv.record("response_times", times, summary=", ".join(
        f"{k.upper().removesuffix('_S')} {fmt_duration(v) if v is not None else 'n/a'}" for k, v in times.__dict__.items()))
    return ans.table("Response times", pd.DataFrame(
        [{"measure": k, "duration": fmt_duration(v) if v is not None else "not established from the evidence"}
         for k, v in rows]))


def document(inv: Investigation) -> Answer:
    from ..analysis.postmortem import render_postmortem

    text = render_postmortem(_inputs(inv))
    write_text(inv.run_dir / POSTMORTEM_FILE, text)
    inv.record("postmortem", {"file": POSTMORTEM_FILE}, summary=f"written to {POSTMORTEM_FILE}")
    ans = Answer("The blameless postmortem")
    ans.say(f"Also saved as {POSTMORTEM_FILE} in the run.")
    ans.markdown = text
    return ans
