"""The cluster mirror: presents the lab kubelet's processes as Kubernetes objects in the API stand-in.

A Deployment ``orders`` owns one ReplicaSet per revision (annotations ``deployment.kubernetes.io/revision`` and
``kubernetes.io/change-cause``, as ``kubectl rollout`` writes them); each ReplicaSet owns its pods; pod container
statuses carry the real restart counts, readiness, waiting reasons and last termination (reason, exit code, times);
events are what the kubelet and the deployment controller would record.  The builders are pure functions.
"""
from __future__ import annotations

import hashlib
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..k8s_standin import StandIn
from .kubelet import Container, Pod


def iso(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None else ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def uid_of(kind: str, namespace: str, name: str) -> str:
    digest = hashlib.sha256(f"{kind}/{namespace}/{name}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


@dataclass
class Revision:
    number: int
    version: str
    change_cause: str
    template_hash: str
    created_at: pd.Timestamp
    features: list[str] = field(default_factory=list)

    def image(self, app: str) -> str:
        return f"registry.lab.local/{app}:{self.version}"


def deployment_object(app: str, namespace: str, revisions: list[Revision], pods: list[Pod]) -> dict[str, Any]:
    current = revisions[-1]
    ready = sum(1 for p in pods if p.ready and p.owner.endswith(current.template_hash))
    return {
        "kind": "Deployment",
        "metadata": {"name": app, "namespace": namespace, "uid": uid_of("Deployment", namespace, app),
                     "labels": {"app": app}, "creationTimestamp": iso(revisions[0].created_at), "generation":
                     current.number, "annotations": {"deployment.kubernetes.io/revision": str(current.number),
                                                     "kubernetes.io/change-cause": current.change_cause}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": app}},
                 "template": {"metadata": {"labels": {"app": app}},
                              "spec": {"containers": [{"name": app, "image": current.image(app)}]}}},
        "status": {"observedGeneration": current.number, "replicas": len(pods), "readyReplicas": ready,
                   "availableReplicas": ready, "updatedReplicas": sum(1 for p in pods
                                                                      if p.owner.endswith(current.template_hash)),
                   "unavailableReplicas": max(0, 1 - ready),
                   "conditions": [{"type": "Available", "status": "True" if ready else "False",
                                   "reason": "MinimumReplicasAvailable" if ready else "MinimumReplicasUnavailable"}]},
    }


def replicaset_object(app: str, namespace: str, rev: Revision, pods: list[Pod], current: bool) -> dict[str, Any]:
    name = f"{app}-{rev.template_hash}"
    mine = [p for p in pods if p.owner == name]
    return {
        "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": namespace, "uid": uid_of("ReplicaSet", namespace, name),
                     "labels": {"app": app, "pod-template-hash": rev.template_hash},
                     "creationTimestamp": iso(rev.created_at),
                     "annotations": {"deployment.kubernetes.io/revision": str(rev.number),
                                     "kubernetes.io/change-cause": rev.change_cause},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app,
                                          "uid": uid_of("Deployment", namespace, app), "controller": True}]},
        "spec": {"replicas": 1 if current else 0,
                 "selector": {"matchLabels": {"app": app, "pod-template-hash": rev.template_hash}},
                 "template": {"metadata": {"labels": {"app": app, "pod-template-hash": rev.template_hash}},
                              "spec": {"containers": [{"name": app, "image": rev.image(app)},
                                                      {"name": "proxy", "image": "registry.lab.local/proxy:1.0"}]}}},
        "status": {"replicas": len(mine), "readyReplicas": sum(1 for p in mine if p.ready),
                   "availableReplicas": sum(1 for p in mine if p.ready)},
    }


def container_status(c: Container) -> dict[str, Any]:
    digest = hashlib.sha256(c.spec.image.encode()).hexdigest()
    status: dict[str, Any] = {"name": c.spec.name, "image": c.spec.image, "ready": c.ready,
                              "imageID": f"{c.spec.image.rsplit(':', 1)[0]}@sha256:{digest}",
                              "restartCount": c.restart_count, "started": c.proc is not None}
    if c.proc is not None:
        status["containerID"] = "containerd://" + hashlib.sha256(f"{c.proc.pid}{c.started_at}".encode()).hexdigest()
    if c.proc is not None:
        status["state"] = {"running": {"startedAt": iso(c.started_at)}}
    else:
        status["state"] = {"waiting": {"reason": c.waiting_reason or "ContainerCreating",
                                       "message": f"back-off restarting failed container {c.spec.name}"}}
    if c.last_termination is not None:
        t = c.last_termination
        status["lastState"] = {"terminated": {"reason": t.reason, "exitCode": t.exit_code,
                                              "startedAt": iso(t.started_at), "finishedAt": iso(t.finished_at)}}
    return status


def pod_object(pod: Pod) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {"name": pod.name, "namespace": pod.namespace, "labels": dict(pod.labels),
                     "uid": uid_of("Pod", pod.namespace, pod.name), "creationTimestamp": iso(pod.created_at),
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": pod.owner,
                                          "uid": uid_of("ReplicaSet", pod.namespace, pod.owner), "controller": True}]},
        "spec": {"nodeName": "lab-node-1", "containers": [
            {"name": c.spec.name, "image": c.spec.image, "ports": [{"containerPort": c.spec.probe_port}],
             "resources": {"limits": {"memory": str(c.spec.memory_limit_bytes)}}} for c in pod.containers]},
        "status": {"phase": "Running", "podIP": "127.0.0.1", "hostIP": "127.0.0.1", "startTime": iso(pod.created_at),
                   "conditions": [{"type": "Ready", "status": "True" if pod.ready else "False"},
                                  {"type": "ContainersReady", "status": "True" if pod.ready else "False"}],
                   "containerStatuses": [container_status(c) for c in pod.containers]},
    }


def event_object(namespace: str, kind: str, name: str, etype: str, reason: str, message: str, at: pd.Timestamp,
                 serial: int, component: str = "kubelet") -> dict[str, Any]:
    return {
        "kind": "Event",
        "metadata": {"name": f"{name}.{serial:016x}", "namespace": namespace, "creationTimestamp": iso(at)},
        "involvedObject": {"kind": kind, "name": name, "namespace": namespace,
                           "uid": uid_of(kind, namespace, name)},
        "reason": reason, "message": message, "type": etype, "count": 1, "firstTimestamp": iso(at),
        "lastTimestamp": iso(at), "source": {"component": component, "host": "lab-node-1"},
        "reportingComponent": component,
    }


class ClusterMirror:
    """Keeps the stand-in in step with the kubelet: objects on every change, logs on every :meth:`sync`."""

    def __init__(self, standin: StandIn, app: str, namespace: str) -> None:
        self.standin, self.app, self.namespace = standin, app, namespace
        self.revisions: list[Revision] = []
        self.pods: dict[str, Pod] = {}
        self._serial = itertools.count(1)
        self._lock = threading.Lock()

    def add_revision(self, rev: Revision) -> None:
        with self._lock:
            self.revisions.append(rev)

    def event(self, kind: str, name: str, etype: str, reason: str, message: str, component: str = "kubelet") -> None:
        self.standin.put(event_object(self.namespace, kind, name, etype, reason, message,
                                      pd.Timestamp.now(tz="UTC"), next(self._serial), component))

    def on_change(self, pod: Pod, etype: str, reason: str, message: str) -> None:
        """The kubelet's callback: record the event and refresh the objects."""
        if reason != "StatusChanged":
            self.event("Pod", pod.name, etype, reason, message)
        self.sync()

    def track(self, pod: Pod) -> None:
        with self._lock:
            self.pods[pod.name] = pod

    def forget(self, name: str) -> None:
        with self._lock:
            self.pods.pop(name, None)
        self.standin.remove("Pod", self.namespace, name)
        self.sync()

    def sync(self) -> None:
        """Write the Deployment, its ReplicaSets, the pods and the container logs into the stand-in."""
        with self._lock:
            revisions, pods = list(self.revisions), list(self.pods.values())
        if not revisions:
            return
        self.standin.put(deployment_object(self.app, self.namespace, revisions, pods))
        for rev in revisions:
            self.standin.put(replicaset_object(self.app, self.namespace, rev, pods, rev is revisions[-1]))
        for pod in pods:
            self.standin.put(pod_object(pod))
            for c in pod.containers:
                with c.lock:
                    current, previous = bytes(c.log_current), c.log_previous
                self.standin.set_log(self.namespace, pod.name, c.spec.name, previous=False, data=current)
                if previous:
                    self.standin.set_log(self.namespace, pod.name, c.spec.name, previous=True, data=previous)
