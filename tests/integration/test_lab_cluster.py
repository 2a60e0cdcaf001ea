"""The lab on loopback: real processes presented as pods, an OOM kill seen through the Kubernetes client and in
Prometheus, and the service's metrics, logs and database path working."""
from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import serving

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from irlib.lab.lab import Lab, LabSettings

    lab = Lab(tmp_path_factory.mktemp("lab"), LabSettings(memory_limit_mb=64, request_rate=12.0))
    with serving(lab.start):
        yield lab


def query(lab: Any, expr: str) -> list[dict[str, Any]]:
    url = f"{lab.prometheus.url}/api/v1/query?query={urllib.parse.quote(expr)}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return list(json.loads(resp.read())["data"]["result"])


def eventually(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1.0)
    raise AssertionError(f"{what} within {timeout_s:.0f} s")


def core_api(lab: Any) -> Any:
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(config_file=str(lab.workdir / "kubeconfig")))


def test_every_scrape_target_is_up_and_traffic_is_served(lab: Any) -> None:
    up = eventually(lambda: (r := query(lab, "up")) and len(r) == 5 and all(x["value"][1] == "1" for x in r) and r,
                    30, "all five scrape jobs up")
    assert {x["metric"]["job"] for x in up} == {"orders", "orders-app", "kubelet", "node", "postgres-exporter"}
    served = eventually(lambda: query(lab, 'sum by (handler) (http_requests_total{namespace="lab",code="200"})'),
                        20, "requests counted by the proxy")
    assert {"/api/orders", "/api/products/{id}"} <= {x["metric"]["handler"] for x in served}
    assert query(lab, 'kube_pod_container_resource_limits{container="orders",resource="memory"}')[0]["value"][1] \
        == str(64 << 20)


def test_deployment_and_pod_through_the_kubernetes_client(lab: Any) -> None:
    from kubernetes import client, config

    apps = client.AppsV1Api(config.new_client_from_config(config_file=str(lab.workdir / "kubeconfig")))
    dep = apps.read_namespaced_deployment("orders", "lab")
    assert dep.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    pods = core_api(lab).list_namespaced_pod("lab", label_selector="app=orders").items
    assert [p.metadata.name for p in pods] == [lab.pod.name]
    log = core_api(lab).read_namespaced_pod_log(lab.pod.name, "lab", container="orders", timestamps=True)
    assert '"message": "orders v1 listening' in log


def test_unbounded_cache_release_is_oomkilled_and_restarted(lab: Any) -> None:
    from irlib.lab.scenarios import inject

    truth = inject(lab, 1)
    assert truth.trigger == {"kind": "rollout", "match": "revision 2"}
    api = core_api(lab)

    def oom_status() -> Any:
        pods = api.list_namespaced_pod("lab", label_selector="app=orders").items
        statuses = [s for p in pods for s in (p.status.container_statuses or []) if s.name == "orders"]
        return next((s for s in statuses if s.restart_count >= 1 and s.last_state.terminated
                     and s.last_state.terminated.reason == "OOMKilled"), None)

    status = eventually(oom_status, 120, "the orders container OOMKilled and restarted")
    assert status.last_state.terminated.exit_code == 137
    pod = lab.pod.name
    previous = api.read_namespaced_pod_log(pod, "lab", container="orders", previous=True)
    assert "orders v2 listening" in previous
    events = api.list_namespaced_event("lab").items
    assert any(e.reason == "BackOff" and "OOMKilled" in e.message for e in events)
    assert any(e.reason == "ScalingReplicaSet" and e.involved_object.name == "orders" for e in events)
    eventually(lambda: query(lab, f'kube_pod_container_status_last_terminated_reason{{pod="{pod}",'
                                  f'reason="OOMKilled"}} == 1'), 20, "the OOM kill in Prometheus")
    truth_file = json.loads((Path(lab.workdir) / "scenarios" / "1.json").read_text())
    assert truth_file["expected_top_error"].startswith("upstream connect error")
