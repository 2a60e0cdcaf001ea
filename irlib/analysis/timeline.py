"""One merged, ordered incident timeline from all sources, as a table and a chart.

Every input frame needs a ``time`` column (UTC) and either ``title`` or ``name``; ``kind``, ``source`` and
``detail`` are taken when present.  The changes frames of :mod:`irlib.analysis.suspects` and the log/alert/event
frames shaped by the step glue fit directly; :func:`marker` makes one-row frames for the onset, the first error,
mitigation and recovery.
"""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from ..frames import UTC_TS, conform

TIMELINE_SCHEMA: dict[str, str] = {
    "time": UTC_TS, "kind": "string", "source": "string", "title": "string", "detail": "string",
}
# Order of kinds at the same instant (a cause before its effects), and their lanes on the chart.
KIND_ORDER = ["rollout", "config", "scaling", "event", "onset", "first_error", "alert", "detection",
              "acknowledged", "mitigation", "recovery", "resolved"]


def marker(time: pd.Timestamp | None, kind: str, title: str, *, source: str = "analysis",
           detail: str = "") -> pd.DataFrame:
    """A one-row timeline frame (an empty one when ``time`` is None: an unknown moment is left out, not guessed)."""
    if time is None or pd.isna(time):
        return conform(None, TIMELINE_SCHEMA)
    return conform(pd.DataFrame([{"time": time, "kind": kind, "source": source, "title": title,
                                  "detail": detail}]), TIMELINE_SCHEMA)


def _shape(frame: pd.DataFrame, default_source: str) -> pd.DataFrame:
    if frame is None or frame.empty or "time" not in frame.columns:
        return conform(None, TIMELINE_SCHEMA)
    out = pd.DataFrame({"time": frame["time"]})
    out["kind"] = frame["kind"] if "kind" in frame.columns else "event"
    out["title"] = frame["title"] if "title" in frame.columns else _change_titles(frame)
    out["source"] = frame["source"] if "source" in frame.columns else default_source
    out["detail"] = frame["detail"] if "detail" in frame.columns else ""
    return conform(out, TIMELINE_SCHEMA)


def _change_titles(frame: pd.DataFrame) -> pd.Series:
    """Titles of a changes frame: its ``name``, and for a scaling or cluster event what it did (the event message),
    so a new ReplicaSet's scale-up and the old one's scale-down at the same second stay two entries."""
    names = frame.get("name", pd.Series("", index=frame.index)).fillna("").astype(str)
    if "detail" not in frame.columns or "kind" not in frame.columns:
        return names
    detail = frame["detail"].fillna("").astype(str).str.strip()
    says = frame["kind"].isin(["scaling", "event"]) & (detail != "")
    return names.where(~says, names + ": " + detail)


def merge_timeline(*frames: pd.DataFrame | None) -> pd.DataFrame:
    """All rows of ``frames`` in one frame (:data:`TIMELINE_SCHEMA`), ordered by time then :data:`KIND_ORDER`.

    Rows without a time are dropped; identical rows (same time, kind, title) are kept once.
    """
    parts = [_shape(frame, f"input {i + 1}") for i, frame in enumerate(frames) if frame is not None]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return conform(None, TIMELINE_SCHEMA)
    merged = pd.concat(parts, ignore_index=True)
    merged["time"] = merged["time"].astype(UTC_TS)
    merged = merged.dropna(subset=["time"])
    merged = merged.drop_duplicates(subset=["time", "kind", "title"])
    order = merged["kind"].map({k: i for i, k in enumerate(KIND_ORDER)}).fillna(len(KIND_ORDER))
    merged = merged.assign(_order=order).sort_values(["time", "_order"], kind="stable").drop(columns="_order")
    return conform(merged.reset_index(drop=True), TIMELINE_SCHEMA)


def timeline_chart(timeline: pd.DataFrame, *, title: str = "Incident timeline", max_labels: int = 40) -> Figure:
    """Each entry as a point on its kind's lane, labelled with its title (the first ``max_labels`` entries)."""
    fig = Figure(figsize=(11, 0.5 * max(3, timeline["kind"].nunique() if len(timeline) else 3) + 1.5),
                 layout="constrained")
    ax = fig.subplots()
    if timeline.empty:
        ax.text(0.5, 0.5, "no timeline entries", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    kinds = sorted(timeline["kind"].unique(), key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER else 99, k))
    lanes = {k: i for i, k in enumerate(kinds)}
    ys = timeline["kind"].map(lanes)
    ax.scatter(timeline["time"], ys, s=30, c=ys, cmap="tab10", zorder=3)
    for (when, lane, text) in list(zip(timeline["time"], ys, timeline["title"]))[:max_labels]:
        ax.annotate(str(text)[:40], (when, lane), xytext=(3, 4), textcoords="offset points", fontsize=7)
    ax.set_yticks(range(len(kinds)), kinds, fontsize=8)
    ax.set_ylim(-0.7, len(kinds) - 0.3)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, fontsize=10)
    return fig
