"""kubectl (the real binary) works against the API stand-in: proof that the stand-in speaks the real API.

kubectl is required: missing, it skips locally and fails under CI (``missing_server``).
"""
from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from irlib.k8s_standin import StandIn
from tests.conftest import missing_server
from tests.integration.test_kubernetes_source import holmes_stdout, world


@pytest.fixture
def kubectl(tmp_path: Path) -> Iterator[tuple[StandIn, list[str]]]:
    binary = shutil.which("kubectl") or ("/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else None)
    if binary is None:
        missing_server("kubectl is not installed (make sysdeps installs it)")
    server = world()
    server.start()
    kubeconfig = server.kubeconfig(tmp_path / "kubeconfig")
    yield server, [str(binary), "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "cache"),
                   "--request-timeout", "10s"]
    server.stop()


def run(base: list[str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*base, *args], capture_output=True, text=True, timeout=60)
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def test_kubectl_get_pods_json(kubectl: tuple[StandIn, list[str]]) -> None:
    _, base = kubectl
    listed = json.loads(run(base, "get", "pods", "-o", "json").stdout)
    assert {p["metadata"]["name"] for p in listed["items"]} == {"nginx", "sleep"}
    assert all(p["kind"] == "Pod" and p["apiVersion"] == "v1" for p in listed["items"])
    selected = json.loads(run(base, "get", "pods", "-l", "app in (sleep)", "-o", "json").stdout)
    assert [p["metadata"]["name"] for p in selected["items"]] == ["sleep"]
    crash = json.loads(run(base, "-n", "di-288312", "get", "pod", "vsystem-867f4b77cc-pqcns", "-o", "json").stdout)
    assert crash["status"]["initContainerStatuses"][0]["restartCount"] == 7527
    table = run(base, "-n", "di-288312", "get", "pods").stdout
    assert "Init:CrashLoopBackOff" in table and "vsystem-867f4b77cc-pqcns" in table


def test_kubectl_logs_previous_of_a_container(kubectl: tuple[StandIn, list[str]]) -> None:
    _, base = kubectl
    out = run(base, "-n", "di-288312", "logs", "--previous", "-c", "vsystem-hana-init",
              "vsystem-867f4b77cc-pqcns").stdout
    assert out.encode().splitlines() == holmes_stdout("crashpod_kubectl_logs_all_containers.txt")
    stamped = run(base, "-n", "di-288312", "logs", "--previous", "--timestamps", "--tail", "2", "-c",
                  "vsystem-hana-init", "vsystem-867f4b77cc-pqcns").stdout.splitlines()
    assert len(stamped) == 2 and stamped[0].startswith("2024-04-27T09:53:")
    missing = run(base, "logs", "--previous", "-c", "sleep", "sleep", ok=False)
    assert missing.returncode != 0 and 'previous terminated container "sleep" in pod "sleep" not found' in \
        missing.stderr


def test_kubectl_get_events(kubectl: tuple[StandIn, list[str]]) -> None:
    _, base = kubectl
    out = run(base, "get", "events").stdout
    assert "Pulled" in out and "pod/hello-1567197780-mn4mv" in out and "Unhealthy" in out
    picked = json.loads(run(base, "get", "events", "--field-selector", "involvedObject.name=sleep",
                            "-o", "json").stdout)
    assert [e["reason"] for e in picked["items"]] == ["Unhealthy"]


def test_kubectl_rollout_history(kubectl: tuple[StandIn, list[str]]) -> None:
    _, base = kubectl
    out = run(base, "-n", "icx", "rollout", "history", "deployment/icx-db").stdout
    lines = [line.split(None, 1) for line in out.splitlines()[2:] if line.strip()]
    assert lines == [["1", "<none>"], ["2", "kubectl set image icx-db=postgres:9.3"]]
    detail = run(base, "-n", "icx", "rollout", "history", "deployment/icx-db", "--revision", "2").stdout
    assert "postgres:9.3-alpine" in detail


def test_kubectl_sees_forbidden_and_missing_like_a_real_server(kubectl: tuple[StandIn, list[str]]) -> None:
    server, base = kubectl
    gone = run(base, "get", "pod", "nope", ok=False)
    assert 'pods "nope" not found' in gone.stderr
    server.forbid("events")
    denied = run(base, "get", "events", ok=False)
    assert "Forbidden" in denied.stderr or "forbidden" in denied.stderr
