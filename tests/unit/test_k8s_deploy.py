"""deploy/: the RBAC is read-only and covers what the Kubernetes source reads; the Job runs the evidence steps."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from irlib.incident import parse_incident

DEPLOY = Path(__file__).resolve().parent.parent.parent / "deploy"
READ = {
    "": {"pods", "pods/log", "events", "namespaces", "nodes"},
    "apps": {"deployments", "replicasets", "statefulsets", "daemonsets", "controllerrevisions"},
    "metrics.k8s.io": {"pods", "nodes"},
}


def docs(name: str) -> dict[str, dict]:
    return {d["kind"]: d for d in yaml.safe_load_all((DEPLOY / name).read_text(encoding="utf-8")) if d}


def test_rbac_is_read_only_and_covers_every_read() -> None:
    rbac = docs("rbac.yaml")
    rules = rbac["ClusterRole"]["rules"]
    assert all(set(rule["verbs"]) == {"get", "list", "watch"} for rule in rules)
    granted: dict[str, set[str]] = {}
    for rule in rules:
        for group in rule["apiGroups"]:
            granted.setdefault(group, set()).update(rule["resources"])
    assert granted == READ
    assert not any("*" in r for rule in rules for r in rule["resources"] + rule["verbs"] + rule["apiGroups"])
    subject = rbac["ClusterRoleBinding"]["subjects"][0]
    assert (subject["name"], subject["namespace"]) == (rbac["ServiceAccount"]["metadata"]["name"],
                                                      rbac["ServiceAccount"]["metadata"]["namespace"])


def test_job_runs_the_evidence_steps_with_the_service_account_and_valid_params(tmp_path: Path) -> None:
    job = docs("job.yaml")
    pod = job["Job"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == docs("rbac.yaml")["ServiceAccount"]["metadata"]["name"]
    container = pod["containers"][0]
    assert container["args"][:4] == ["run", "/params/incident.yaml", "--steps", "01,02,03,04,05,09,12"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["params"] == "/params" and container["args"][-1] == mounts["reports"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["params"]["configMap"]["name"] == job["ConfigMap"]["metadata"]["name"]
    incident = parse_incident(job["ConfigMap"]["data"]["incident.yaml"], path=tmp_path / "incident.yaml",
                              now=pd.Timestamp("2024-01-01T12:00:00Z"))
    assert incident.sources["kubernetes"]["in_cluster"] is True
