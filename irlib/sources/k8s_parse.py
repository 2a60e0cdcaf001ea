"""Pure parsing for the Kubernetes source: API objects (plain dicts, as the API serves them) -> tidy frames.

Nothing here does I/O.  Every function takes the JSON the API returns (``items`` of a list, or single objects) and
returns a frame conformed to one of the schemas below.  Quantities such as ``250m`` or ``512Mi`` become floats
(cores, bytes).  Label selectors are parsed here too (the stand-in API server uses them to filter lists).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from ..frames import UTC_TS, Schema, conform

PODS_SCHEMA: dict[str, str] = {
    "pod": "string", "namespace": "string", "phase": "string", "pod_ready": "boolean", "node": "string",
    "owner_kind": "string", "owner_name": "string", "container": "string", "container_type": "string",
    "image": "string", "ready": "boolean", "restarts": "Int64", "state": "string", "waiting_reason": "string",
    "last_reason": "string", "last_exit_code": "Int64", "last_finished_at": UTC_TS, "started_at": UTC_TS,
    "cpu_request": "float64", "cpu_limit": "float64", "memory_request": "float64", "memory_limit": "float64",
    "pod_created_at": UTC_TS, "labels": "string", "sidecar": "boolean",
}
EVENTS_SCHEMA: dict[str, str] = {
    "time": UTC_TS, "first_time": UTC_TS, "last_time": UTC_TS, "type": "string", "reason": "string",
    "object_kind": "string", "object_name": "string", "message": "string", "count": "Int64", "component": "string",
}
ROLLOUT_SCHEMA: dict[str, str] = {
    "kind": "string", "name": "string", "revision": "Int64", "change_cause": "string", "images": "string",
    "created_at": UTC_TS, "replicaset": "string", "current": "boolean", "replicas": "Int64",
    "ready_replicas": "Int64",
}
POD_USAGE_SCHEMA: dict[str, str] = {
    "timestamp": UTC_TS, "pod": "string", "container": "string", "cpu_cores": "float64", "memory_bytes": "float64",
}
NODE_USAGE_SCHEMA: dict[str, str] = {
    "timestamp": UTC_TS, "node": "string", "cpu_cores": "float64", "memory_bytes": "float64",
}

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause"

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1), "k": Decimal(1000),
            "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"), "P": Decimal("1e15"),
            "E": Decimal("1e18")}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")


def tidy(rows: list[dict[str, Any]] | pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """``conform`` with timestamp columns parsed as RFC 3339 at nanosecond resolution first (pandas 3 would infer
    microseconds from text, and the kubelet's log stamps carry nanoseconds)."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    for name, dtype in schema.items():
        if dtype == UTC_TS and name in frame.columns and frame[name].dtype != UTC_TS:
            frame[name] = pd.to_datetime(frame[name], utc=True, errors="coerce", format="ISO8601").astype(UTC_TS)
    return conform(frame, schema)


def parse_quantity(value: object) -> float:
    """A Kubernetes resource quantity as a float: ``"250m"`` -> 0.25, ``"512Mi"`` -> 536870912.0, ``"1e3"`` -> 1000.

    ``None`` or ``""`` gives NaN; anything else that is not a quantity raises ValueError.
    """
    if value is None or value == "":
        return float("nan")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (examples: 250m, 1.5, 512Mi, 2G)")
    try:
        number = Decimal(match.group(1))
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a Kubernetes quantity") from exc
    suffix = match.group(2) or ""
    if suffix in _BINARY:
        return float(number * _BINARY[suffix])
    if suffix[:1] in ("e", "E"):
        return float(number * (Decimal(10) ** int(suffix[1:])))
    return float(number * _DECIMAL[suffix])


def _get(obj: Mapping[str, Any] | None, *path: str) -> Any:
    cur: Any = obj
    for key in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    return cur


def controller_owner(meta: Mapping[str, Any]) -> tuple[str, str, str]:
    """(kind, name, uid) of the controlling owner reference, else the first owner, else empty strings."""
    owners = meta.get("ownerReferences") or []
    chosen = next((o for o in owners if o.get("controller")), owners[0] if owners else None)
    if not chosen:
        return "", "", ""
    return str(chosen.get("kind") or ""), str(chosen.get("name") or ""), str(chosen.get("uid") or "")


# -- pods -------------------------------------------------------------------------------------------------------------
def parse_pods(pods: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per container of each pod (init, app, ephemeral) with :data:`PODS_SCHEMA` columns.

    ``restarts`` is the container's restartCount; ``state`` its current state (running/waiting/terminated, or "" when
    the kubelet has not reported it); ``last_*`` the last termination (``lastState.terminated``, else the current
    state when it is terminated); requests and limits in cores and bytes (NaN when unset); ``labels`` the pod's
    labels as sorted JSON; ``sidecar`` marks init containers with ``restartPolicy: Always`` (native sidecars).
    """
    rows = [row for pod in pods for row in _pod_rows(pod)]
    return tidy(rows, PODS_SCHEMA)


def _pod_rows(pod: Mapping[str, Any]) -> list[dict[str, Any]]:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    owner_kind, owner_name, _ = controller_owner(meta)
    ready = next((c.get("status") == "True" for c in status.get("conditions") or [] if c.get("type") == "Ready"),
                 False)
    base = {
        "pod": meta.get("name"), "namespace": meta.get("namespace"), "phase": status.get("phase") or "",
        "pod_ready": ready, "node": spec.get("nodeName") or "", "owner_kind": owner_kind, "owner_name": owner_name,
        "pod_created_at": meta.get("creationTimestamp"),
        "labels": json.dumps(meta.get("labels") or {}, sort_keys=True),
    }
    groups = (("init", "initContainers", "initContainerStatuses"), ("app", "containers", "containerStatuses"),
              ("ephemeral", "ephemeralContainers", "ephemeralContainerStatuses"))
    rows = []
    for kind, spec_key, status_key in groups:
        statuses = {s.get("name"): s for s in status.get(status_key) or []}
        for container in spec.get(spec_key) or []:
            rows.append({**base, **_container_row(kind, container, statuses.get(container.get("name")) or {})})
    return rows


def _container_row(kind: str, container: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    state = status.get("state") or {}
    current = next((k for k in ("running", "waiting", "terminated") if state.get(k) is not None), "")
    last = _get(status, "lastState", "terminated") or state.get("terminated") or {}
    resources = container.get("resources") or {}
    return {
        "container": container.get("name"), "container_type": kind,
        "image": status.get("image") or container.get("image") or "",
        "ready": bool(status.get("ready", False)), "restarts": int(status.get("restartCount") or 0),
        "state": current, "waiting_reason": _get(state, "waiting", "reason") or "",
        "last_reason": last.get("reason") or "", "last_exit_code": last.get("exitCode"),
        "last_finished_at": last.get("finishedAt"),
        "started_at": _get(state, "running", "startedAt") or _get(state, "terminated", "startedAt"),
        "cpu_request": parse_quantity(_get(resources, "requests", "cpu")),
        "cpu_limit": parse_quantity(_get(resources, "limits", "cpu")),
        "memory_request": parse_quantity(_get(resources, "requests", "memory")),
        "memory_limit": parse_quantity(_get(resources, "limits", "memory")),
        "sidecar": kind == "init" and container.get("restartPolicy") == "Always",
    }


def pod_containers(pod: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(container name, restart count) for every container of a pod: init, app and ephemeral, in spec order."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    restarts: dict[str, int] = {}
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for s in status.get(key) or []:
            restarts[str(s.get("name"))] = int(s.get("restartCount") or 0)
    names = [str(c.get("name")) for k in ("initContainers", "containers", "ephemeralContainers")
             for c in spec.get(k) or []]
    return [(name, restarts.get(name, 0)) for name in names]


# -- events -----------------------------------------------------------------------------------------------------------
def parse_events(events: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """core/v1 Events as :data:`EVENTS_SCHEMA`, sorted by ``time``.

    ``time`` is lastTimestamp, else eventTime, else firstTimestamp, else metadata.creationTimestamp (a row is never
    dropped for a null); ``first_time`` is firstTimestamp else eventTime; ``last_time`` is lastTimestamp else
    series.lastObservedTime; ``count`` is count, else series.count, else 1; ``component`` is
    source.component else reportingComponent.
    """
    rows = [_event_row(ev) for ev in events]
    frame = tidy(rows, EVENTS_SCHEMA)
    return frame.sort_values("time", kind="stable", na_position="last").reset_index(drop=True)


def _event_row(ev: Mapping[str, Any]) -> dict[str, Any]:
    meta, involved = ev.get("metadata") or {}, ev.get("involvedObject") or ev.get("regarding") or {}
    times = [ev.get("lastTimestamp"), ev.get("eventTime"), ev.get("firstTimestamp"), meta.get("creationTimestamp")]
    count = ev.get("count") or _get(ev, "series", "count") or 1
    return {
        "time": next((t for t in times if t), None),
        "first_time": ev.get("firstTimestamp") or ev.get("eventTime"),
        "last_time": ev.get("lastTimestamp") or _get(ev, "series", "lastObservedTime"),
        "type": ev.get("type") or "", "reason": ev.get("reason") or "",
        "object_kind": involved.get("kind") or "", "object_name": involved.get("name") or "",
        "message": ev.get("message") or ev.get("note") or "", "count": int(count),
        "component": _get(ev, "source", "component") or ev.get("reportingComponent") or "",
    }


def filter_window(frame: pd.DataFrame, column: str, start: pd.Timestamp | None,
                  end: pd.Timestamp | None) -> pd.DataFrame:
    """Rows whose ``column`` lies in [start, end] (either bound optional); rows with a null time are kept."""
    keep = pd.Series(True, index=frame.index)
    times = frame[column]
    if start is not None:
        keep &= times.isna() | (times >= start)
    if end is not None:
        keep &= times.isna() | (times <= end)
    return frame[keep].reset_index(drop=True)


# -- rollout history --------------------------------------------------------------------------------------------------
def template_images(template: Mapping[str, Any] | None) -> str:
    """Comma-joined images of a pod template's init and app containers."""
    spec = _get(template, "spec") or {}
    return ",".join(str(c.get("image") or "") for k in ("initContainers", "containers") for c in spec.get(k) or [])


def owned_by(obj: Mapping[str, Any], uid: str) -> bool:
    """Whether ``obj`` has a controller owner reference with ``uid``."""
    return any(o.get("uid") == uid and o.get("controller") for o in _get(obj, "metadata", "ownerReferences") or [])


def parse_deployment_history(deployment: Mapping[str, Any], replicasets: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Revisions of one Deployment from the ReplicaSets it controls (:data:`ROLLOUT_SCHEMA`), oldest first.

    ``current`` marks the ReplicaSet whose revision equals the Deployment's revision annotation (what
    ``kubectl rollout history`` lists; ReplicaSets without a revision annotation are left out, as kubectl does).
    """
    meta = deployment.get("metadata") or {}
    uid, current = meta.get("uid"), _get(meta, "annotations", REVISION_ANNOTATION)
    rows = []
    for rs in replicasets:
        rs_meta = rs.get("metadata") or {}
        revision = _get(rs_meta, "annotations", REVISION_ANNOTATION)
        if not owned_by(rs, str(uid)) or revision is None:
            continue
        rows.append({
            "kind": "Deployment", "name": meta.get("name"), "revision": int(revision),
            "change_cause": _get(rs_meta, "annotations", CHANGE_CAUSE_ANNOTATION) or "",
            "images": template_images(_get(rs, "spec", "template")), "created_at": rs_meta.get("creationTimestamp"),
            "replicaset": rs_meta.get("name"), "current": str(revision) == str(current),
            "replicas": int(_get(rs, "status", "replicas") or 0),
            "ready_replicas": int(_get(rs, "status", "readyReplicas") or 0),
        })
    return _sorted_history(rows)


def parse_revision_history(owner: Mapping[str, Any], revisions: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Revisions of a StatefulSet or DaemonSet from its ControllerRevisions (:data:`ROLLOUT_SCHEMA`).

    ``current`` is the StatefulSet's ``status.updateRevision`` when given, else the highest revision;
    ``replicaset`` holds the ControllerRevision's name; replica counts are null (revisions do not have them).
    """
    meta = owner.get("metadata") or {}
    kind = str(owner.get("kind") or "")
    rows = []
    for rev in revisions:
        rev_meta = rev.get("metadata") or {}
        if not owned_by(rev, str(meta.get("uid"))):
            continue
        rows.append({
            "kind": kind, "name": meta.get("name"), "revision": int(rev.get("revision") or 0),
            "change_cause": _get(rev_meta, "annotations", CHANGE_CAUSE_ANNOTATION) or "",
            "images": template_images(_get(rev, "data", "spec", "template")),
            "created_at": rev_meta.get("creationTimestamp"), "replicaset": rev_meta.get("name"),
            "current": False, "replicas": None, "ready_replicas": None,
        })
    update = _get(owner, "status", "updateRevision")
    newest = max((r["revision"] for r in rows), default=None)
    for row in rows:
        row["current"] = row["replicaset"] == update if update else row["revision"] == newest
    return _sorted_history(rows)


def _sorted_history(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = tidy(rows, ROLLOUT_SCHEMA)
    return frame.sort_values(["kind", "name", "revision"], kind="stable").reset_index(drop=True)


def selector_text(label_selector: Mapping[str, Any] | None) -> str:
    """A metav1.LabelSelector (matchLabels + matchExpressions) as selector text, e.g. ``app=x,tier in (a,b)``."""
    if not label_selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((label_selector.get("matchLabels") or {}).items())]
    for expr in label_selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), str(expr.get("operator")), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


# -- metrics.k8s.io ---------------------------------------------------------------------------------------------------
def parse_pod_usage(items: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """PodMetrics items as :data:`POD_USAGE_SCHEMA`: one row per container, CPU in cores, memory in bytes."""
    rows = [{"timestamp": item.get("timestamp"), "pod": _get(item, "metadata", "name"), "container": c.get("name"),
             "cpu_cores": parse_quantity(_get(c, "usage", "cpu")),
             "memory_bytes": parse_quantity(_get(c, "usage", "memory"))}
            for item in items for c in item.get("containers") or []]
    return tidy(rows, POD_USAGE_SCHEMA)


def parse_node_usage(items: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """NodeMetrics items as :data:`NODE_USAGE_SCHEMA`: CPU in cores, memory in bytes."""
    rows = [{"timestamp": item.get("timestamp"), "node": _get(item, "metadata", "name"),
             "cpu_cores": parse_quantity(_get(item, "usage", "cpu")),
             "memory_bytes": parse_quantity(_get(item, "usage", "memory"))} for item in items]
    return tidy(rows, NODE_USAGE_SCHEMA)
