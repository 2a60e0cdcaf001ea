"""Suspect ranking and the adapters from rollout history, git, alerts and events."""
from __future__ import annotations

import pandas as pd

from irlib.analysis.suspects import (
    CHANGES_SCHEMA, SUSPECTS_SCHEMA, changes_from_alerts, changes_from_events, changes_from_git,
    changes_from_rollouts, rank_suspects,
)

ONSET = pd.Timestamp("2026-03-01T11:15:00Z")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-03-01T{text}Z")


def rollout_history() -> pd.DataFrame:
    return pd.DataFrame({
        "kind": ["Deployment"] * 3 + ["Deployment"],
        "name": ["checkout"] * 3 + ["search"],
        "revision": [3, 1, 2, 7],
        "change_cause": ["bump to v1.4.0", "initial", "v1.3.0", "search v9"],
        "images": [["shop/checkout:1.4.0"], ["shop/checkout:1.2.0"], ["shop/checkout:1.3.0"], ["shop/search:9"]],
        "created_at": [ts("11:10:00"), pd.Timestamp("2026-02-01T00:00:00Z"), ts("08:00:00"), ts("10:30:00")],
        "current": [True, False, False, True],
    })


def all_changes() -> pd.DataFrame:
    git = pd.DataFrame({"time": [ts("10:50:00")], "commit": ["a" * 40], "author": ["Ada"],
                        "subject": ["lower checkout db pool"], "files": ["checkout/values.yaml"]})
    alerts = pd.DataFrame({"alertname": ["HighErrorRate"], "state": ["firing"], "severity": ["page"],
                           "labels": [{"service": "checkout"}], "starts_at": [ts("11:17:00")], "ends_at": [None]})
    events = pd.DataFrame({"time": [ts("11:12:00"), ts("11:16:00")], "type": ["Normal", "Warning"],
                           "reason": ["ScalingReplicaSet", "BackOff"], "object_kind": ["Deployment", "Pod"],
                           "object_name": ["search", "checkout-1"], "message": ["Scaled up to 4", "back-off"],
                           "count": [1, 5]})
    parts = [changes_from_rollouts(rollout_history(), "checkout", "shop"), changes_from_git(git, "checkout"),
             changes_from_alerts(alerts, "checkout"), changes_from_events(events, "checkout")]
    return pd.concat(parts, ignore_index=True)


def test_rollout_adapter_links_previous_revision() -> None:
    changes = changes_from_rollouts(rollout_history(), "checkout", "shop")
    assert list(changes.columns) == list(CHANGES_SCHEMA)
    latest = changes[changes["revision"] == 3].iloc[0]
    assert latest["target"] == "deployment/checkout" and latest["previous_revision"] == 2
    assert latest["namespace"] == "shop" and bool(latest["touches_service"])
    assert "bump to v1.4.0" in latest["detail"] and "shop/checkout:1.4.0" in latest["detail"]
    assert pd.isna(changes[changes["revision"] == 1].iloc[0]["previous_revision"])
    assert not bool(changes[changes["target"] == "deployment/search"].iloc[0]["touches_service"])


def test_bad_rollout_ranks_first_with_reason() -> None:
    suspects = rank_suspects(all_changes(), ONSET, "120min", "checkout")
    assert list(suspects.columns) == list(SUSPECTS_SCHEMA)
    top = suspects.iloc[0]
    assert top["kind"] == "rollout" and top["revision"] == 3 and top["rank"] == 1
    assert top["minutes_before_onset"] == 5.0
    assert "5 min before the onset" in top["reason"] and "touches checkout" in top["reason"]
    # The symptom event (BackOff) is not a change; the old revisions are outside the look-back.
    assert "BackOff" not in " ".join(suspects["name"])
    assert set(suspects["kind"]) == {"rollout", "config", "scaling"}
    assert suspects["score"].is_monotonic_decreasing


def test_an_alert_firing_after_the_onset_is_a_consequence_not_a_suspect() -> None:
    suspects = rank_suspects(all_changes(), ONSET, "120min", "checkout")
    assert "HighErrorRate" not in set(suspects["name"])  # it fired at 11:17, two minutes after the onset
    assert (suspects["minutes_before_onset"] >= 0).all()


def test_a_change_just_after_the_estimated_onset_stays_within_its_precision() -> None:
    changes = pd.DataFrame({"time": [ONSET + pd.Timedelta(seconds=30)], "kind": ["rollout"],
                            "name": ["deployment/checkout revision 4"], "detail": [""], "touches_service": [True]})
    ranked = rank_suspects(changes, ONSET, "120min", "checkout")
    assert ranked["name"].tolist() == ["deployment/checkout revision 4"]
    assert "30 s after the estimated onset (within its precision)" in ranked.iloc[0]["reason"]


def test_the_reason_is_a_clause_without_rank_or_full_stop_for_callers_to_frame() -> None:
    top = rank_suspects(all_changes(), ONSET, "120min", "checkout").iloc[0]
    assert top["reason"] == ("rollout deployment/checkout revision 3 came 5 min before the onset, touches checkout; "
                             "rollouts are the most common cause")


def test_config_change_ranks_above_an_unrelated_scaling_event() -> None:
    suspects = rank_suspects(all_changes(), ONSET, "120min", "checkout")
    ranks = dict(zip(suspects["kind"], suspects["rank"]))
    assert ranks["config"] < ranks["scaling"]


def test_slow_burn_blames_nothing() -> None:
    changes = all_changes()
    assert rank_suspects(changes, ts("18:00:00"), "60min", "checkout").empty
    assert list(rank_suspects(changes, None, "60min").columns) == list(SUSPECTS_SCHEMA)


def test_no_deployment_at_all() -> None:
    empty = changes_from_rollouts(pd.DataFrame(columns=["kind", "name", "revision", "created_at"]))
    assert empty.empty and list(empty.columns) == list(CHANGES_SCHEMA)
    assert rank_suspects(empty, ONSET).empty
    assert changes_from_git(pd.DataFrame()).empty and changes_from_alerts(pd.DataFrame()).empty
    assert changes_from_events(pd.DataFrame()).empty


def test_events_adapter_keeps_changes_only() -> None:
    events = pd.DataFrame({"time": [ts("11:00:00")], "type": ["Warning"], "reason": ["NodeNotReady"],
                           "object_kind": ["Node"], "object_name": ["node-1"], "message": ["not ready"], "count": [1]})
    changes = changes_from_events(events)
    assert changes["kind"].tolist() == ["event"] and changes["target"].tolist() == ["node/node-1"]


def test_a_dependency_down_alert_outranks_the_error_rate_alert_it_causes() -> None:
    onset = pd.Timestamp("2026-12-03T18:27:22Z")
    changes = pd.DataFrame({
        "time": [onset - pd.Timedelta(seconds=5), onset - pd.Timedelta(seconds=1)],
        "kind": ["alert", "alert"], "name": ["OrdersDatabaseDown", "OrdersHighErrorRate"],
        "detail": ["state firing", "state pending"], "touches_service": [True, True]})
    ranked = rank_suspects(changes, onset, "2min", "orders")
    assert list(ranked["name"]) == ["OrdersDatabaseDown", "OrdersHighErrorRate"]


def test_a_down_alert_just_after_the_onset_stays_a_suspect_as_the_cause() -> None:
    # a dependency that goes away: its alert can only start after the errors its absence produced
    changes = pd.DataFrame({"time": [ONSET + pd.Timedelta(seconds=8), ONSET + pd.Timedelta(seconds=20)],
                            "kind": ["alert", "alert"], "name": ["OrdersDatabaseDown", "OrdersHighErrorRate"],
                            "detail": ["", ""], "touches_service": [True, True]})
    ranked = rank_suspects(changes, ONSET, "2min", "orders")
    assert ranked["name"].tolist() == ["OrdersDatabaseDown"]


def test_scale_up_and_scale_down_of_one_deployment_read_apart() -> None:
    events = pd.DataFrame({"time": [ts("11:14:00"), ts("11:14:20")], "type": ["Normal", "Normal"],
                           "reason": ["ScalingReplicaSet"] * 2, "object_kind": ["Deployment"] * 2,
                           "object_name": ["orders"] * 2,
                           "message": ["Scaled up replica set orders-7d to 1",
                                       "Scaled down replica set orders-5c to 0"],
                           "count": [1, 1]})
    suspects = rank_suspects(changes_from_events(events, "orders"), ONSET, "120min", "orders")
    reasons = list(suspects["reason"])
    assert reasons[0] != reasons[1]
    assert any("(Scaled up replica set orders-7d to 1)" in r for r in reasons)
    assert any("(Scaled down replica set orders-5c to 0)" in r for r in reasons)


def test_images_read_as_a_list() -> None:
    from irlib.analysis.suspects import image_list

    assert image_list("reg/orders:v2,reg/proxy:1.0") == "images reg/orders:v2 and reg/proxy:1.0"
    assert image_list(["a:1", "b:2", "c:3"]) == "images a:1, b:2 and c:3"
    assert image_list(["a:1"]) == "image a:1" and image_list("") == ""
