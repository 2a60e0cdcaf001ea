"""Pure parsing of Kubernetes objects into frames, on real objects from tests/fixtures/kubernetes/."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from irlib.frames import check
from irlib.sources import k8s_parse as kp
from irlib.sources.k8s_selectors import (SelectorError, matches_labels, parse_field_selector,
                                         parse_label_selector)

K8S = Path(__file__).resolve().parent.parent / "fixtures" / "kubernetes"


def load(rel: str) -> dict:
    return json.loads((K8S / rel).read_text(encoding="utf-8"))


@pytest.mark.parametrize("text,expected", [
    ("250m", 0.25), ("1", 1.0), ("1.5", 1.5), ("512Mi", 512 * 2**20), ("1Gi", 2**30), ("2G", 2e9),
    ("100k", 1e5), ("1234567n", 0.001234567), ("500u", 0.0005), ("1e3", 1000.0), ("12345Ki", 12345 * 1024),
    (".5", 0.5), (3, 3.0),
])
def test_quantities_become_cores_and_bytes(text: object, expected: float) -> None:
    assert kp.parse_quantity(text) == pytest.approx(expected)


def test_missing_quantity_is_nan_and_garbage_is_refused() -> None:
    assert math.isnan(kp.parse_quantity(None))
    assert math.isnan(kp.parse_quantity(""))
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        kp.parse_quantity("12 apples")


def test_sidecar_pod_has_one_row_per_container_with_types() -> None:
    frame = kp.parse_pods([load("k9s/po_sidecar.json")])
    check(frame, kp.PODS_SCHEMA)
    rows = frame.set_index("container")
    assert list(frame["container"]) == ["init", "sidecar", "sleep"]
    assert rows.loc["sidecar", "container_type"] == "init" and bool(rows.loc["sidecar", "sidecar"])
    assert not bool(rows.loc["init", "sidecar"]) and rows.loc["sleep", "container_type"] == "app"
    assert rows.loc["init", "state"] == "terminated" and rows.loc["init", "last_reason"] == "Completed"
    assert rows.loc["sleep", "state"] == "running" and rows.loc["sleep", "started_at"] == pd.Timestamp(
        "2024-08-24T01:54:38Z")
    assert rows.loc["sidecar", "cpu_limit"] == pytest.approx(0.02)
    assert rows.loc["sleep", "memory_limit"] == 40 * 2**20 and rows.loc["sleep", "cpu_request"] == pytest.approx(0.03)
    assert frame["pod_ready"].all() and (frame["node"] == "kind-control-plane").all()
    assert (frame["restarts"] == 0).all()


def test_crash_looping_init_container_keeps_restarts_and_last_termination() -> None:
    frame = kp.parse_pods([load("openshift/vsystem-867f4b77cc-pqcns.json")])
    init = frame[frame["container"] == "vsystem-hana-init"].iloc[0]
    assert init["container_type"] == "init" and init["restarts"] == 7527
    assert init["state"] == "waiting" and init["waiting_reason"] == "CrashLoopBackOff"
    assert init["last_reason"] == "Error" and init["last_exit_code"] == 1
    assert init["last_finished_at"] == pd.Timestamp("2024-04-27T09:54:24Z")
    apps = frame[frame["container_type"] == "app"]
    assert set(apps["waiting_reason"]) == {"PodInitializing"} and apps["last_exit_code"].isna().all()
    assert (frame["owner_kind"] == "ReplicaSet").all() and (frame["owner_name"] == "vsystem-867f4b77cc").all()
    assert not frame["pod_ready"].any() and (frame["phase"] == "Pending").all()
    assert json.loads(frame["labels"].iloc[0])["app"] == "vora"


def test_oomkilled_last_state_and_empty_pods() -> None:
    pod = load("k9s/po_sidecar.json")
    status = pod["status"]["containerStatuses"][0]
    status.update(restartCount=3, state={"waiting": {"reason": "CrashLoopBackOff"}},
                  lastState={"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                            "finishedAt": "2024-08-24T02:00:00Z"}})
    row = kp.parse_pods([pod]).set_index("container").loc["sleep"]
    assert (row["last_reason"], row["last_exit_code"], row["restarts"]) == ("OOMKilled", 137, 3)
    empty = kp.parse_pods([])
    check(empty, kp.PODS_SCHEMA)
    assert len(empty) == 0


def test_pod_containers_lists_every_container_with_restarts() -> None:
    pod = load("openshift/vsystem-867f4b77cc-pqcns.json")
    assert kp.pod_containers(pod) == [("vsystem-hana-init", 7527), ("vsystem", 0), ("auth", 0)]


def test_events_with_null_timestamps_are_kept_and_sorted() -> None:
    real = load("k9s/ev.json")
    only_created = {"metadata": {"name": "a", "creationTimestamp": "2019-08-30T20:40:00Z"}, "reason": "Killing",
                    "type": "Normal", "involvedObject": {"kind": "Pod", "name": "p"}, "count": None,
                    "lastTimestamp": None, "firstTimestamp": None, "eventTime": None}
    event_time = {"metadata": {"name": "b"}, "reason": "BackOff", "type": "Warning", "eventTime":
                  "2019-08-30T20:50:00.123456Z", "series": {"count": 7, "lastObservedTime": "2019-08-30T20:51:00Z"},
                  "reportingComponent": "kubelet", "involvedObject": {"kind": "Pod", "name": "q"}}
    nothing = {"metadata": {"name": "c"}, "reason": "Odd"}
    frame = kp.parse_events([event_time, nothing, real, only_created])
    check(frame, kp.EVENTS_SCHEMA)
    assert list(frame["reason"]) == ["Killing", "Pulled", "BackOff", "Odd"]
    assert frame["time"].iloc[0] == pd.Timestamp("2019-08-30T20:40:00Z") and pd.isna(frame["time"].iloc[3])
    backoff = frame.iloc[2]
    assert backoff["count"] == 7 and backoff["component"] == "kubelet"
    assert backoff["last_time"] == pd.Timestamp("2019-08-30T20:51:00Z")
    pulled = frame.iloc[1]
    assert (pulled["object_kind"], pulled["object_name"], pulled["component"]) == ("Pod", "hello-1567197780-mn4mv",
                                                                                   "kubelet")
    assert frame["count"].iloc[0] == 1


def test_filter_window_keeps_null_times() -> None:
    frame = kp.parse_events([load("k9s/ev.json"), {"metadata": {"name": "x"}}])
    kept = kp.filter_window(frame, "time", pd.Timestamp("2020-01-01T00:00:00Z"), None)
    assert len(kept) == 1 and pd.isna(kept["time"].iloc[0])


def test_deployment_history_from_owned_replicasets() -> None:
    dep, rs1 = load("k9s/dp.json"), load("k9s/rs.json")
    rs2 = json.loads(json.dumps(rs1))
    rs2["metadata"].update(name="icx-db-new", creationTimestamp="2019-07-15T00:00:00Z")
    rs2["metadata"]["annotations"].update({kp.REVISION_ANNOTATION: "2", kp.CHANGE_CAUSE_ANNOTATION: "bump image"})
    rs2["spec"]["template"]["spec"]["containers"][0]["image"] = "postgres:9.3-alpine"
    stranger = json.loads(json.dumps(rs1))
    stranger["metadata"]["ownerReferences"][0]["uid"] = "someone-else"
    dep["metadata"]["annotations"][kp.REVISION_ANNOTATION] = "2"
    frame = kp.parse_deployment_history(dep, [rs2, stranger, rs1])
    check(frame, kp.ROLLOUT_SCHEMA)
    assert list(frame["revision"]) == [1, 2] and list(frame["current"]) == [False, True]
    assert list(frame["images"]) == ["postgres:9.2-alpine", "postgres:9.3-alpine"]
    assert list(frame["change_cause"]) == ["", "bump image"] and frame["ready_replicas"].iloc[0] == 1
    assert frame["created_at"].iloc[0] == pd.Timestamp("2019-07-14T04:54:17Z")


def test_statefulset_history_from_controller_revisions() -> None:
    sts = {"kind": "StatefulSet", "metadata": {"name": "db", "uid": "u1"}, "status": {"updateRevision": "db-2"}}
    def rev(name: str, number: int, image: str) -> dict:
        return {"metadata": {"name": name, "creationTimestamp": f"2024-01-0{number}T00:00:00Z",
                             "ownerReferences": [{"uid": "u1", "controller": True, "kind": "StatefulSet"}]},
                "revision": number, "data": {"spec": {"template": {"spec": {"containers": [{"image": image}]}}}}}
    frame = kp.parse_revision_history(sts, [rev("db-2", 2, "pg:16"), rev("db-1", 1, "pg:15")])
    assert list(frame["revision"]) == [1, 2] and list(frame["current"]) == [False, True]
    assert frame["replicas"].isna().all() and list(frame["images"]) == ["pg:15", "pg:16"]


def test_selector_text_from_label_selector() -> None:
    sel = {"matchLabels": {"app": "x"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]},
                                                             {"key": "canary", "operator": "DoesNotExist"}]}
    assert kp.selector_text(sel) == "app=x,tier in (a,b),!canary"


def test_usage_frames() -> None:
    pods = kp.parse_pod_usage([{"metadata": {"name": "p"}, "timestamp": "2024-01-01T00:00:00Z",
                                "containers": [{"name": "c", "usage": {"cpu": "250m", "memory": "64Mi"}}]}])
    nodes = kp.parse_node_usage([{"metadata": {"name": "n"}, "timestamp": "2024-01-01T00:00:00Z",
                                  "usage": {"cpu": "1500000000n", "memory": "2Gi"}}])
    check(pods, kp.POD_USAGE_SCHEMA)
    check(nodes, kp.NODE_USAGE_SCHEMA)
    assert pods["cpu_cores"].iloc[0] == 0.25 and pods["memory_bytes"].iloc[0] == 64 * 2**20
    assert nodes["cpu_cores"].iloc[0] == 1.5 and nodes["memory_bytes"].iloc[0] == 2**31


@pytest.mark.parametrize("selector,labels,expected", [
    ("app=web", {"app": "web"}, True), ("app==web", {"app": "db"}, False), ("app!=web", {}, True),
    ("tier in (a, b)", {"tier": "b"}, True), ("tier notin (a,b)", {"tier": "a"}, False),
    ("tier notin (a,b)", {}, True), ("canary", {"canary": ""}, True), ("!canary", {"canary": "1"}, False),
    ("app=web,tier in (a,b),!canary", {"app": "web", "tier": "a"}, True), ("", {"x": "y"}, True),
])
def test_label_selectors(selector: str, labels: dict, expected: bool) -> None:
    assert matches_labels(parse_label_selector(selector), labels) is expected


def test_bad_selectors_are_refused() -> None:
    with pytest.raises(SelectorError, match="unable to parse requirement"):
        parse_label_selector("app=(web")
    with pytest.raises(SelectorError, match="field label not supported: spec.foo"):
        parse_field_selector("spec.foo=1", "pods")


def test_field_selectors_on_events() -> None:
    ev = load("k9s/ev.json")
    assert all(m(ev) for m in parse_field_selector("involvedObject.kind=Pod,involvedObject.name="
                                                   "hello-1567197780-mn4mv,source=kubelet", "events"))
    assert not all(m(ev) for m in parse_field_selector("type!=Normal", "events"))
