"""Merging timeline entries from several sources."""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from irlib.analysis.suspects import changes_from_rollouts
from irlib.analysis.timeline import TIMELINE_SCHEMA, marker, merge_timeline, timeline_chart


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-03-01T{text}Z")


def entries() -> pd.DataFrame:
    rollouts = changes_from_rollouts(pd.DataFrame({
        "kind": ["Deployment"], "name": ["checkout"], "revision": [3], "change_cause": ["v1.4.0"],
        "images": [["shop/checkout:1.4.0"]], "created_at": [ts("11:10:00")], "current": [True]}))
    alerts = pd.DataFrame({"time": [ts("11:17:00"), None], "title": ["HighErrorRate firing", "no time"],
                           "kind": ["alert", "alert"], "source": ["alertmanager", "alertmanager"]})
    return merge_timeline(marker(ts("11:30:00"), "recovery", "error ratio back in band"), rollouts, alerts,
                          marker(ts("11:15:00"), "onset", "onset (3 signals agree)"),
                          marker(ts("11:15:00"), "first_error", "first ERROR: db timeout <b>"),
                          marker(None, "mitigation", "unknown"), None)


def test_merged_in_order_with_fixed_columns() -> None:
    timeline = entries()
    assert list(timeline.columns) == list(TIMELINE_SCHEMA)
    assert timeline["kind"].tolist() == ["rollout", "onset", "first_error", "alert", "recovery"]
    assert timeline["time"].is_monotonic_increasing
    assert timeline.loc[0, "title"] == "deployment/checkout revision 3" and timeline.loc[0, "source"] == "input 2"
    assert "mitigation" not in set(timeline["kind"])  # an unknown moment is left out


def test_duplicates_are_kept_once_and_empty_inputs_work() -> None:
    once = marker(ts("11:15:00"), "onset", "onset")
    assert len(merge_timeline(once, once)) == 1
    empty = merge_timeline()
    assert empty.empty and list(empty.columns) == list(TIMELINE_SCHEMA)
    assert merge_timeline(pd.DataFrame({"x": [1]})).empty


def test_chart() -> None:
    assert isinstance(timeline_chart(entries()), Figure)
    assert isinstance(timeline_chart(merge_timeline()), Figure)


def test_scale_up_and_down_at_the_same_second_stay_two_entries() -> None:
    from irlib.analysis.suspects import changes_from_events

    at = pd.Timestamp("2026-03-01T11:12:39Z")
    events = pd.DataFrame({"time": [at, at], "type": ["Normal"] * 2, "reason": ["ScalingReplicaSet"] * 2,
                           "object_kind": ["Deployment"] * 2, "object_name": ["orders"] * 2,
                           "message": ["Scaled up replica set orders-b to 1", "Scaled down replica set orders-a to 0"],
                           "count": [1, 1]})
    merged = merge_timeline(changes_from_events(events, "orders"))
    assert len(merged) == 2
    assert any(t.endswith(": Scaled up replica set orders-b to 1") for t in merged["title"])
    assert any(t.endswith(": Scaled down replica set orders-a to 0") for t in merged["title"])
