"""The Kubernetes source through the real ``kubernetes`` client against the API stand-in, serving real objects.

The stand-in runs in-process on 127.0.0.1 (a free port) and is stopped after each test.  Objects come from
tests/fixtures/kubernetes/ (see ATTRIBUTION.md); the tests only add labels, a second ReplicaSet revision, log bytes
and one event with null timestamps.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from irlib.errors import QueryError, SourceUnavailable
from irlib.frames import check
from irlib.incident import parse_incident
from irlib.investigation import Investigation
from irlib.k8s_standin import StandIn, stamp_lines
from irlib.servers import free_port
from irlib.sources import k8s_parse as kp
from irlib.sources.k8s_logs import POD_LOGS_SCHEMA
from irlib.sources.kubernetes import KubernetesSource

K8S = Path(__file__).resolve().parent.parent / "fixtures" / "kubernetes"
CRASH_WINDOW = (pd.Timestamp("2024-04-27T09:00:00Z"), pd.Timestamp("2024-04-27T10:00:00Z"))
SIDECAR_WINDOW = (pd.Timestamp("2024-08-24T01:50:00Z"), pd.Timestamp("2024-08-24T02:10:00Z"))
LATIN1_LOG = [("grüße from the app").encode(), b"caf\xe9 latin-1 byte", "€ after it".encode()]


def load(rel: str) -> dict:
    return json.loads((K8S / rel).read_text(encoding="utf-8"))


def holmes_stdout(name: str) -> list[bytes]:
    """The kubectl output held between ``stdout:`` and ``stderr:`` of a holmesgpt capture."""
    text = (K8S / "holmesgpt" / name).read_bytes()
    body = text.split(b"\nstdout:\n", 1)[1].rsplit(b"\nstderr:", 1)[0]
    return body.splitlines()


def labelled(obj: dict, **labels: str) -> dict:
    obj.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
    return obj


def second_revision(rs: dict) -> dict:
    newer = json.loads(json.dumps(rs))
    newer["metadata"].update(name="icx-db-5c9f6d8b7", uid="6f637a60-0000-0000-0000-000000000002",
                             creationTimestamp="2019-07-20T10:00:00Z")
    newer["metadata"]["annotations"].update({kp.REVISION_ANNOTATION: "2",
                                             kp.CHANGE_CAUSE_ANNOTATION: "kubectl set image icx-db=postgres:9.3"})
    newer["metadata"]["labels"]["pod-template-hash"] = "5c9f6d8b7"
    newer["spec"]["template"]["spec"]["containers"][0]["image"] = "postgres:9.3-alpine"
    return newer


NULL_EVENT = {"kind": "Event", "metadata": {"name": "sleep.null", "namespace": "default",
                                            "creationTimestamp": "2024-08-24T01:56:00Z"},
              "involvedObject": {"kind": "Pod", "name": "sleep", "namespace": "default"}, "reason": "Unhealthy",
              "type": "Warning", "message": "Readiness probe failed", "firstTimestamp": None, "lastTimestamp": None,
              "eventTime": None, "count": None, "source": {}}


def world(**kwargs: object) -> StandIn:
    """Real pods (sidecar, crash-looping init container, init container), Deployment + ReplicaSets, events, logs."""
    deployment = load("k9s/dp.json")
    deployment["metadata"]["annotations"][kp.REVISION_ANNOTATION] = "2"
    rs = load("k9s/rs.json")
    objects = [labelled(load("k9s/po_sidecar.json"), app="sleep"), labelled(load("k9s/po_init.json"), app="nginx"),
               {"kind": "Pod", **load("openshift/vsystem-867f4b77cc-pqcns.json")}, deployment, rs,
               second_revision(rs), load("k9s/ev.json"), NULL_EVENT]
    start = pd.Timestamp("2024-04-27T09:53:24Z")
    logs = {
        ("default", "sleep", "sleep", False): stamp_lines(LATIN1_LOG, SIDECAR_WINDOW[0] + pd.Timedelta("5min")),
        ("default", "sleep", "init", False): stamp_lines(["init done"], pd.Timestamp("2024-08-24T01:54:36Z")),
        ("default", "sleep", "sidecar", False): stamp_lines(["proxy ready"], pd.Timestamp("2024-08-24T01:54:38Z")),
        ("default", "nginx", "nginx", False):
            (K8S / "openshift" / "alertmanager-main-0.alertmanager.last-50-lines.log").read_bytes(),
        ("di-288312", "vsystem-867f4b77cc-pqcns", "vsystem-hana-init", False): b"",
        ("di-288312", "vsystem-867f4b77cc-pqcns", "vsystem-hana-init", True):
            stamp_lines(holmes_stdout("crashpod_kubectl_logs_all_containers.txt"), start, every_s=0.01),
    }
    return StandIn(objects, logs, **kwargs)  # type: ignore[arg-type]


def incident_text(kubeconfig: Path, **settings: object) -> str:
    settings = {"timeout_s": 5, **settings}  # a setting given here replaces the default (no duplicate key)
    extra = "".join(f"\n    {k}: {json.dumps(v)}" for k, v in settings.items())
    return f"""
incident: {{id: INC-K8S, title: k8s source test, declared_at: "2024-04-27T10:00:00Z"}}
window: {{start: "2024-04-27T09:00:00Z", end: "2024-04-27T10:00:00Z"}}
service: {{name: vsystem, namespace: di-288312, selector: app=vora}}
sources:
  kubernetes:
    kubeconfig: {kubeconfig}{extra}
"""


def source_for(standin: StandIn, tmp_path: Path, **settings: object) -> KubernetesSource:
    kubeconfig = standin.kubeconfig(tmp_path / "kubeconfig")
    incident = parse_incident(incident_text(kubeconfig, **settings), path=tmp_path / "incident.yaml",
                              now=pd.Timestamp("2024-04-27T10:00:00Z"))
    return KubernetesSource(incident)


@pytest.fixture
def standin() -> Iterator[StandIn]:
    server = world()
    server.start()
    yield server
    server.stop()


def log_queries(standin: StandIn) -> list[dict[str, str]]:
    out = []
    for path in standin.requests():
        url = urlsplit(path)
        if url.path.endswith("/log"):
            out.append({"pod": url.path.split("/")[-2], **{k: v[-1] for k, v in parse_qs(url.query).items()}})
    return out


# -- pods ---------------------------------------------------------------------------------------------------------------
def test_sidecar_pod_through_the_client(standin: StandIn, tmp_path: Path) -> None:
    fetched = source_for(standin, tmp_path).pods(namespace="default", selector="app=sleep")
    check(fetched.frame, kp.PODS_SCHEMA)
    frame = fetched.frame.set_index("container")
    assert sorted(frame.index) == ["init", "sidecar", "sleep"]
    assert bool(frame.loc["sidecar", "sidecar"]) and frame.loc["sleep", "container_type"] == "app"
    assert "labelSelector=app=sleep" in fetched.query and not fetched.truncated


def test_crash_looping_pod_keeps_thousands_of_restarts(standin: StandIn, tmp_path: Path) -> None:
    frame = source_for(standin, tmp_path).pods(namespace="di-288312", selector="app=vora").frame
    init = frame[frame["container"] == "vsystem-hana-init"].iloc[0]
    assert (init["restarts"], init["waiting_reason"], init["last_exit_code"]) == (7527, "CrashLoopBackOff", 1)


def test_pod_list_pages_are_followed(tmp_path: Path) -> None:
    pods = [labelled({"kind": "Pod", "metadata": {"name": f"p{i:04d}", "namespace": "big"},
                      "spec": {"containers": [{"name": "c", "image": "x"}]}}, app="many") for i in range(1203)]
    with StandIn(pods) as server:
        frame = source_for(server, tmp_path).pods(namespace="big", selector="app=many").frame
        assert len(frame) == 1203 and frame["pod"].is_unique
        assert sum("continue=" in p for p in server.requests()) == 2


def test_bad_selector_is_a_query_error(standin: StandIn, tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="unable to parse requirement"):
        source_for(standin, tmp_path).pods(namespace="default", selector="app in (")


# -- logs -------------------------------------------------------------------------------------------------------------
def test_crash_looping_container_previous_log_holds_the_stack_trace(standin: StandIn, tmp_path: Path) -> None:
    fetched = source_for(standin, tmp_path).pod_logs(namespace="di-288312", selector="app=vora",
                                                     start=CRASH_WINDOW[0], end=CRASH_WINDOW[1])
    check(fetched.frame, POD_LOGS_SCHEMA)
    init = fetched.frame[fetched.frame["container"] == "vsystem-hana-init"]
    assert len(init[~init["previous"]]) == 0  # the current instance logged nothing
    previous = init[init["previous"]]
    assert previous["line"].str.contains("java.lang.StackOverflowError").any()
    assert len(previous) == len(holmes_stdout("crashpod_kubectl_logs_all_containers.txt"))
    assert previous["timestamp"].between(*CRASH_WINDOW).all() and not fetched.truncated
    asked = log_queries(standin)
    assert {(q["container"], q.get("previous")) for q in asked} == {
        ("vsystem-hana-init", "false"), ("vsystem-hana-init", "true"), ("vsystem", "false"), ("auth", "false")}
    assert all(q["timestamps"] == "true" and int(q["sinceSeconds"]) > 0 for q in asked)
    assert any('"vsystem" in pod "vsystem-867f4b77cc-pqcns" is waiting to start: PodInitializing' in n
               for n in fetched.notes)


def test_zero_restarts_fetch_no_previous_and_flag_latin1(standin: StandIn, tmp_path: Path) -> None:
    fetched = source_for(standin, tmp_path).pod_logs(namespace="default", selector="app=sleep",
                                                     start=SIDECAR_WINDOW[0], end=SIDECAR_WINDOW[1])
    frame = fetched.frame
    assert sorted(set(frame["container"])) == ["init", "sidecar", "sleep"] and not frame["previous"].any()
    assert all(q.get("previous") == "false" and q.get("container") for q in log_queries(standin))
    app = frame[frame["container"] == "sleep"]
    assert list(app["line"]) == ["grüße from the app", "caf\ufffd latin-1 byte", "€ after it"]
    assert list(app["decode_error"]) == [False, True, False]
    assert fetched.notes == []


def test_a_character_split_across_http_chunks_comes_out_whole(tmp_path: Path) -> None:
    pod = labelled(load("k9s/po_sidecar.json"), app="sleep")
    text = ["€uro → arrow ✓ check 日本語"] * 20
    logs = {("default", "sleep", "sleep", False): stamp_lines(text, SIDECAR_WINDOW[0] + pd.Timedelta("1min"))}
    with StandIn([pod], logs, chunk_bytes=5) as server:
        frame = source_for(server, tmp_path).pod_logs(namespace="default", selector="app=sleep",
                                                      start=SIDECAR_WINDOW[0], end=SIDECAR_WINDOW[1]).frame
    app = frame[frame["container"] == "sleep"]
    assert list(app["line"]) == text and not app["decode_error"].any()


def test_window_trim_and_visible_caps(standin: StandIn, tmp_path: Path) -> None:
    capture = (K8S / "openshift" / "alertmanager-main-0.alertmanager.last-50-lines.log").read_bytes().splitlines()
    start, end = pd.Timestamp("2021-11-15T09:21:29Z"), pd.Timestamp("2021-11-15T09:21:40Z")
    whole = source_for(standin, tmp_path).pod_logs(namespace="default", selector="app=nginx",
                                                   start=pd.Timestamp("2021-11-15T00:00:00Z"),
                                                   end=pd.Timestamp("2021-11-17T00:00:00Z")).frame
    nginx = whole[whole["container"] == "nginx"]
    assert len(nginx) == len(capture) and not nginx["timestamp"].isna().any()
    trimmed = source_for(standin, tmp_path).pod_logs(namespace="default", selector="app=nginx", start=start,
                                                     end=end).frame
    inside = nginx[nginx["timestamp"].between(start, end)]
    assert 0 < len(trimmed[trimmed["container"] == "nginx"]) == len(inside) < len(capture)
    capped = source_for(standin, tmp_path, log_lines=5).pod_logs(
        namespace="default", selector="app=nginx", start=pd.Timestamp("2021-11-15T00:00:00Z"),
        end=pd.Timestamp("2021-11-16T00:00:00Z"))
    assert capped.truncated and len(capped.frame[capped.frame["container"] == "nginx"]) == 5
    assert any("nginx/nginx" in n and "first 5 lines" in n for n in capped.notes)
    small = source_for(standin, tmp_path, log_bytes=1000)
    by_bytes = small.pod_logs(namespace="default", selector="app=nginx", start=pd.Timestamp("2021-11-15T00:00:00Z"),
                              end=pd.Timestamp("2021-11-16T00:00:00Z"))
    assert by_bytes.truncated and any("1000-byte cap" in n for n in by_bytes.notes)
    assert len(small.pods(namespace="default", selector="app=nginx").frame) == 2  # the cut stream left no residue


# -- events, rollouts, usage ----------------------------------------------------------------------------------------
def test_events_with_null_timestamps_from_the_api(standin: StandIn, tmp_path: Path) -> None:
    fetched = source_for(standin, tmp_path).events(namespace="default")
    frame = fetched.frame
    assert list(frame["reason"]) == ["Pulled", "Unhealthy"]
    assert frame["time"].iloc[1] == pd.Timestamp("2024-08-24T01:56:00Z") and frame["count"].iloc[1] == 1
    windowed = source_for(standin, tmp_path).events(namespace="default", start=pd.Timestamp("2024-01-01T00:00:00Z"),
                                                    end=pd.Timestamp("2025-01-01T00:00:00Z")).frame
    assert list(windowed["reason"]) == ["Unhealthy"]


def test_rollout_history_from_owned_replicasets(standin: StandIn, tmp_path: Path) -> None:
    frame = source_for(standin, tmp_path).rollout_history(namespace="icx", selector="app=icx-db").frame
    check(frame, kp.ROLLOUT_SCHEMA)
    assert list(frame["revision"]) == [1, 2] and list(frame["current"]) == [False, True]
    assert frame["change_cause"].iloc[1] == "kubectl set image icx-db=postgres:9.3"
    assert list(frame["images"]) == ["postgres:9.2-alpine", "postgres:9.3-alpine"]


def test_usage_when_metrics_api_is_served_and_when_absent(standin: StandIn, tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match="metrics.k8s.io API is not served"):
        source_for(standin, tmp_path).pod_usage(namespace="default", selector="app=sleep")
    standin.put({"kind": "PodMetrics", "metadata": {"name": "sleep", "namespace": "default", "labels": {"app": "sleep"}},
                 "timestamp": "2024-08-24T02:00:00Z", "window": "30s",
                 "containers": [{"name": "sleep", "usage": {"cpu": "12m", "memory": "20Mi"}}]})
    standin.put({"kind": "NodeMetrics", "metadata": {"name": "kind-control-plane"}, "timestamp": "2024-08-24T02:00:00Z",
                 "window": "30s", "usage": {"cpu": "750m", "memory": "3Gi"}})
    source = source_for(standin, tmp_path)
    pods = source.pod_usage(namespace="default", selector="app=sleep").frame
    assert pods["cpu_cores"].tolist() == [0.012] and pods["memory_bytes"].tolist() == [20 * 2**20]
    nodes = source.node_usage().frame
    assert nodes["node"].tolist() == ["kind-control-plane"] and nodes["cpu_cores"].tolist() == [0.75]


# -- failures ---------------------------------------------------------------------------------------------------------
def test_403_on_events_only_is_recorded_and_the_rest_collected(standin: StandIn, tmp_path: Path) -> None:
    standin.forbid("events")
    kubeconfig = standin.kubeconfig(tmp_path / "kubeconfig")
    incident = parse_incident(incident_text(kubeconfig), path=tmp_path / "incident.yaml",
                              now=pd.Timestamp("2024-04-27T10:00:00Z"))
    inv = Investigation(incident, tmp_path / "run")
    pods = inv.kubernetes.pods(namespace="di-288312", selector="app=vora")
    events = inv.kubernetes.events(namespace="di-288312")
    logs = inv.kubernetes.pod_logs(namespace="di-288312", selector="app=vora", start=CRASH_WINDOW[0],
                                   end=CRASH_WINDOW[1])
    assert len(pods) == 3 and len(events) == 0 and list(events.columns)[:10] == list(kp.EVENTS_SCHEMA)
    assert logs["line"].str.contains("StackOverflowError").any()
    status = {r.method: r for r in inv.store.records()}
    assert status["pods"].status == "ok" and status["pod_logs"].status == "ok"
    assert status["events"].status == "unavailable"
    assert "HTTP 403" in status["events"].reason and 'cannot list resource "events"' in status["events"].reason


def test_unreachable_api(tmp_path: Path) -> None:
    server = world()
    server.start()
    source = source_for(server, tmp_path)
    server.stop()
    began = time.monotonic()
    with pytest.raises(SourceUnavailable, match="unreachable"):
        source.pods(namespace="default", selector="app=sleep")
    assert time.monotonic() - began < 10


def test_unreachable_port_never_opened(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{free_port()}"}}],
        "users": [{"name": "u", "user": {}}], "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    incident = parse_incident(incident_text(kubeconfig), path=tmp_path / "i.yaml", now=pd.Timestamp("2024-04-27T10:00Z"))
    inv = Investigation(incident, tmp_path / "run")
    frame = inv.kubernetes.events(namespace="default")
    record = inv.store.records()[0]
    assert len(frame) == 0 and record.status == "unavailable" and "unreachable" in record.reason


def test_server_errors_slow_answers_and_bad_credentials(tmp_path: Path) -> None:
    with world() as server:
        server.fail("pods", 500)
        with pytest.raises(SourceUnavailable, match="HTTP 500: Internal error occurred"):
            source_for(server, tmp_path).pods(namespace="default", selector="app=sleep")
        server.heal()
        server.delay(2.0)
        with pytest.raises(SourceUnavailable, match="too slow"):
            source_for(server, tmp_path, timeout_s=0.5).events(namespace="default")
    with world(token="right") as server:
        source = source_for(server, tmp_path)  # the kubeconfig carries the right token
        assert len(source.pods(namespace="default", selector="app=sleep").frame) == 3
        server.kubeconfig(tmp_path / "kubeconfig", token="wrong")
        with pytest.raises(SourceUnavailable, match="HTTP 401: Unauthorized"):
            source_for_existing(tmp_path).pods(namespace="default", selector="app=sleep")


def source_for_existing(tmp_path: Path) -> KubernetesSource:
    incident = parse_incident(incident_text(tmp_path / "kubeconfig"), path=tmp_path / "incident.yaml",
                              now=pd.Timestamp("2024-04-27T10:00:00Z"))
    return KubernetesSource(incident)


def test_missing_kubeconfig_context_is_unavailable_with_advice(standin: StandIn, tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match="cannot load kubeconfig"):
        source_for(standin, tmp_path, context="no-such-context")


def test_standin_answers_like_the_api_for_log_mistakes(standin: StandIn, tmp_path: Path) -> None:
    from kubernetes.client.exceptions import ApiException
    core = source_for(standin, tmp_path).core
    with pytest.raises(ApiException) as no_container:
        core.read_namespaced_pod_log("vsystem-867f4b77cc-pqcns", "di-288312")
    status = json.loads(no_container.value.body)
    assert (no_container.value.status, status["kind"], status["reason"]) == (400, "Status", "BadRequest")
    assert status["message"] == ("a container name must be specified for pod vsystem-867f4b77cc-pqcns, choose one "
                                 "of: [vsystem auth] or one of the init containers: [vsystem-hana-init]")
    with pytest.raises(ApiException) as no_previous:
        core.read_namespaced_pod_log("sleep", "default", container="sleep", previous=True)
    assert json.loads(no_previous.value.body)["message"] == \
        'previous terminated container "sleep" in pod "sleep" not found'
    with pytest.raises(ApiException) as no_pod:
        core.read_namespaced_pod("nope", "default")
    assert json.loads(no_pod.value.body)["details"] == {"name": "nope", "kind": "pods"}
    assert core.read_namespaced_pod_log("sleep", "default", tail_lines=1) == "€ after it\n"


def test_in_cluster_outside_a_cluster_is_unavailable_with_advice(tmp_path: Path) -> None:
    incident = parse_incident("""
incident: {id: INC-K8S, title: t, declared_at: "2024-04-27T10:00:00Z"}
window: {start: "2024-04-27T09:00:00Z", end: "2024-04-27T10:00:00Z"}
service: {name: s}
sources: {kubernetes: {in_cluster: true}}
""", path=tmp_path / "i.yaml", now=pd.Timestamp("2024-04-27T10:00:00Z"))
    with pytest.raises(SourceUnavailable, match="cannot load the in-cluster service account"):
        KubernetesSource(incident)
