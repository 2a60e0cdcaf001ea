"""Suspects: every change shortly before the onset, ranked by closeness and by whether it touches the service.

The changes frame (:data:`CHANGES_SCHEMA`) is built by the adapters below from the source frames:

- time (UTC), kind ("rollout" | "config" | "alert" | "scaling" | "event"), name, detail, touches_service (boolean)
- target (e.g. ``deployment/checkout``; empty when not a Kubernetes object), namespace,
  revision (Int64: the revision the rollout made), previous_revision (Int64: the one before it; the rollback target)
"""
from __future__ import annotations

import json
from collections.abc import Iterable

import pandas as pd

from ..frames import UTC_TS, conform
from .text import fmt_duration

CHANGES_SCHEMA: dict[str, str] = {
    "time": UTC_TS, "kind": "string", "name": "string", "detail": "string", "touches_service": "boolean",
    "target": "string", "namespace": "string", "revision": "Int64", "previous_revision": "Int64",
}
SUSPECTS_SCHEMA: dict[str, str] = {
    "rank": "Int64", **CHANGES_SCHEMA, "minutes_before_onset": "float64", "score": "float64", "reason": "string",
}
# How likely a kind of change is to cause an incident (alerts are mostly symptoms, not causes).
KIND_WEIGHT: dict[str, float] = {"rollout": 1.0, "config": 0.9, "scaling": 0.6, "event": 0.4, "alert": 0.2}
DOWN_ALERT = r"(?i)(?:down|unreachable|unavailable|notready|absent)$"
DOWN_ALERT_WEIGHT = 0.6
SCALING_REASONS = {"ScalingReplicaSet", "SuccessfulRescale"}
EVENT_REASONS = {"NodeNotReady", "Rebooted", "NodeHasDiskPressure", "NodeHasMemoryPressure", "Evicted",
                 "Preempting", "EvictionThresholdMet", "FailedMount", "NetworkNotReady"}


def rank_suspects(changes: pd.DataFrame, onset: pd.Timestamp | None, lookback: str | pd.Timedelta = "120min",
                  service: str | None = None, *, after_tolerance: str | pd.Timedelta = "2min") -> pd.DataFrame:
    """Changes in [onset - lookback, onset + after_tolerance], best suspect first (:data:`SUSPECTS_SCHEMA`).

    score = 0.5 · closeness (1 at the onset, 0 at the edge of the look-back) + 0.3 · touches the service
    + 0.2 · kind weight (:data:`KIND_WEIGHT`).  Changes just after the estimated onset (within ``after_tolerance``,
    the onset estimate's precision) stay in, with a lower closeness; an alert that fired after the onset does not:
    it reports the incident, it cannot have caused it -- unless it says a component is down (a dependency gone).  Nothing before the onset in the look-back (a slow burn) or
    no onset at all gives an empty frame: nothing is blamed.
    """
    frame = conform(changes, CHANGES_SCHEMA)
    if onset is None or frame.empty:
        return conform(None, SUSPECTS_SCHEMA)
    window, tolerance = pd.Timedelta(lookback), pd.Timedelta(after_tolerance)
    frame = frame[_in_lookback(frame, onset, window, tolerance) & ~_alert_after_onset(frame, onset)].copy()
    if frame.empty:
        return conform(None, SUSPECTS_SCHEMA)
    before_s = (onset - frame["time"]).dt.total_seconds()
    closeness = (1.0 - before_s.clip(lower=0) / window.total_seconds()).where(before_s >= 0, 0.5)
    touches = frame["touches_service"].fillna(False).astype(bool)
    weight = frame["kind"].map(KIND_WEIGHT).astype("float64").fillna(0.3)
    # an alert that a component is down (a dependency gone) is a cause; other alerts are mostly symptoms
    weight = weight.where(~_down_alert(frame), DOWN_ALERT_WEIGHT)
    frame["minutes_before_onset"] = before_s / 60.0
    frame["score"] = (0.5 * closeness + 0.3 * touches.astype(float) + 0.2 * weight).round(4)
    frame = frame.sort_values(["score", "time"], ascending=[False, False], kind="stable").reset_index(drop=True)
    frame["rank"] = range(1, len(frame) + 1)
    frame["reason"] = [_reason(row, service) for row in frame.itertuples(index=False)]
    return conform(frame, SUSPECTS_SCHEMA)


def _in_lookback(frame: pd.DataFrame, onset: pd.Timestamp, window: pd.Timedelta,
                 tolerance: pd.Timedelta) -> pd.Series:
    """Which changes lie in [onset - window, onset + tolerance]."""
    return (frame["time"] >= onset - window) & (frame["time"] <= onset + tolerance)


def _alert_after_onset(frame: pd.DataFrame, onset: pd.Timestamp) -> pd.Series:
    """Which changes are symptom alerts that fired after the onset: consequences of the incident, never suspects.

    An alert that a component is down (:data:`DOWN_ALERT`) stays: a dependency that goes away is the cause, and its
    alert can only start after the onset that its absence produced (within the onset estimate's precision).
    """
    return ((frame["kind"] == "alert") & ~_down_alert(frame) & (frame["time"] > onset)).fillna(False).astype(bool)


def _down_alert(frame: pd.DataFrame) -> pd.Series:
    """Which changes are alerts that a component is down (:data:`DOWN_ALERT`): causes, not symptoms."""
    named = frame["name"].fillna("").str.contains(DOWN_ALERT, regex=True).astype(bool)
    return ((frame["kind"] == "alert") & named).fillna(False).astype(bool)


def _reason(row: object, service: str | None) -> str:
    """Why the change is a suspect, as a clause without rank or final full stop (callers put it in sentences)."""
    minutes = float(getattr(row, "minutes_before_onset"))
    when = (f"{fmt_duration(minutes * 60)} before the onset" if minutes >= 0
            else f"{fmt_duration(-minutes * 60)} after the estimated onset (within its precision)")
    touches = bool(getattr(row, "touches_service")) if pd.notna(getattr(row, "touches_service")) else False
    target = f"touches {service}" if touches and service else ("touches the service" if touches
                                                                else "does not touch the affected service")
    kind = str(getattr(row, "kind"))
    nature = {"alert": "an alert is usually a symptom, not a cause", "rollout": "rollouts are the most common cause",
              "config": "configuration changes are a common cause"}.get(kind, f"a {kind} change")
    return f"{kind} {getattr(row, 'name')}{_what(row, kind)} came {when}, {target}; {nature}"


def _what(row: object, kind: str) -> str:
    """What a scaling or cluster event did, from its message (" (Scaled up replica set orders-7d to 1)"), so
    two events of the same object and reason -- a new ReplicaSet scaled up, the old one down -- read apart."""
    detail = getattr(row, "detail", None)
    if kind not in ("scaling", "event") or detail is None or pd.isna(detail) or not str(detail).strip():
        return ""
    text = " ".join(str(detail).split())
    return f" ({text[:117] + '...' if len(text) > 120 else text})"


def _touches(texts: Iterable[object], service: str | None) -> list[bool]:
    if not service:
        return [False for _ in texts]
    needle = service.lower()
    return [needle in str(text).lower() for text in texts]


def changes_from_rollouts(history: pd.DataFrame, service: str | None = None,
                          namespace: str | None = None) -> pd.DataFrame:
    """Rollout history (kind, name, revision, change_cause, images, created_at, current) as changes.

    Each revision becomes a "rollout" change at its ``created_at``; ``previous_revision`` is the next lower
    revision of the same object (the rollback target), or null for the first one.
    """
    if history is None or history.empty:
        return conform(None, CHANGES_SCHEMA)
    rows = []
    for (kind, name), group in history.groupby(["kind", "name"], sort=False):
        group = group.sort_values("revision")
        previous: object = None
        for rec in group.itertuples(index=False):
            images = image_list(getattr(rec, "images", ""))
            cause = str(getattr(rec, "change_cause", "") or "")
            rows.append({"time": rec.created_at, "kind": "rollout", "name": f"{str(kind).lower()}/{name} "
                         f"revision {rec.revision}", "detail": "; ".join(p for p in (cause, images) if p),
                         "target": f"{str(kind).lower()}/{name}", "namespace": getattr(rec, "namespace", namespace),
                         "revision": rec.revision, "previous_revision": previous,
                         "touches_service": _touches([f"{name} {images}"], service)[0]})
            previous = rec.revision
    return conform(pd.DataFrame(rows), CHANGES_SCHEMA)


def image_list(images: object) -> str:
    """Container images as a phrase: "image a", "images a and b", "images a, b and c" (from a list or a
    comma-joined string); "" for none."""
    if isinstance(images, str) or images is None:
        names = [part.strip() for part in str(images or "").split(",")]
    else:
        names = [str(part).strip() for part in images]  # type: ignore[attr-defined]
    names = [n for n in names if n]
    if len(names) <= 1:
        return f"image {names[0]}" if names else ""
    return f"images {', '.join(names[:-1])} and {names[-1]}"


def changes_from_git(git_changes: pd.DataFrame, service: str | None = None) -> pd.DataFrame:
    """Config-repository commits (time, commit, author, subject, files) as "config" changes."""
    if git_changes is None or git_changes.empty:
        return conform(None, CHANGES_SCHEMA)
    frame = pd.DataFrame({
        "time": git_changes["time"], "kind": "config",
        "name": "commit " + git_changes["commit"].astype(str).str[:10],
        "detail": git_changes["subject"].astype(str) + " (files: " + git_changes["files"].astype(str) + ")",
        "touches_service": _touches((git_changes["subject"].astype(str) + " " + git_changes["files"].astype(str)),
                                    service),
    })
    return conform(frame, CHANGES_SCHEMA)


def changes_from_alerts(alerts: pd.DataFrame, service: str | None = None) -> pd.DataFrame:
    """Alerts (alertname, state, severity, labels, starts_at, ends_at) as "alert" changes at ``starts_at``."""
    if alerts is None or alerts.empty:
        return conform(None, CHANGES_SCHEMA)
    labels = alerts["labels"].map(lambda v: v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str))
    frame = pd.DataFrame({
        "time": alerts["starts_at"], "kind": "alert", "name": alerts["alertname"],
        "detail": "severity " + alerts["severity"].fillna("none").astype(str) + ", state "
                  + alerts["state"].fillna("").astype(str) + ", labels " + labels.astype(str),
        "touches_service": _touches(labels, service),
    })
    return conform(frame, CHANGES_SCHEMA)


def changes_from_events(events: pd.DataFrame, service: str | None = None) -> pd.DataFrame:
    """Kubernetes events (time, type, reason, object_kind, object_name, message, count) that are changes.

    Scaling (:data:`SCALING_REASONS`) becomes "scaling"; node and eviction trouble (:data:`EVENT_REASONS`)
    becomes "event"; other events (pod symptoms such as BackOff) are not changes and are left out.
    """
    if events is None or events.empty:
        return conform(None, CHANGES_SCHEMA)
    keep = events[events["reason"].isin(SCALING_REASONS | EVENT_REASONS)]
    if keep.empty:
        return conform(None, CHANGES_SCHEMA)
    target = keep["object_kind"].astype(str).str.lower() + "/" + keep["object_name"].astype(str)
    frame = pd.DataFrame({
        "time": keep["time"], "kind": keep["reason"].map(lambda r: "scaling" if r in SCALING_REASONS else "event"),
        "name": keep["reason"].astype(str) + " " + target, "detail": keep["message"].astype(str),
        "target": target, "touches_service": _touches(target + " " + keep["message"].astype(str), service),
    })
    return conform(frame, CHANGES_SCHEMA)
