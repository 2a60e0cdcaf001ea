"""Server-side printing for the stand-in: the ``meta.k8s.io/v1`` Table that ``kubectl get`` asks for (``Accept:
application/json;as=Table;v=v1;g=meta.k8s.io``), with the columns a real API server prints for pods, events and
deployments, and "Name, Created At" for the rest (the API server's default).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd

def wants_table(accept: str) -> bool:
    """Whether an Accept header asks for a Table first."""
    first = accept.split(",")[0]
    return "as=Table" in first and "g=meta.k8s.io" in first


def age(stamp: object, now_s: float) -> str:
    """kubectl's short age: 45s, 12m, 5h, 3d, 2y30d."""
    if not stamp:
        return "<unknown>"
    seconds = max(0, int(now_s - pd.Timestamp(str(stamp)).timestamp()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    days = seconds // 86400
    return f"{days}d" if days < 365 * 2 else f"{days // 365}y{days % 365}d"


def _pod_row(pod: dict[str, Any], now_s: float) -> list[Any]:
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    total = len((pod.get("spec") or {}).get("containers") or [])
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
    reason = status.get("reason") or status.get("phase") or ""
    for s in (status.get("initContainerStatuses") or []):
        waiting = ((s.get("state") or {}).get("waiting") or {}).get("reason")
        if waiting:
            reason = f"Init:{waiting}"
            break
    else:
        for s in statuses:
            state = s.get("state") or {}
            reason = (state.get("waiting") or {}).get("reason") or (state.get("terminated") or {}).get("reason") \
                or reason
    return [pod["metadata"]["name"], f"{ready}/{total}", reason, restarts,
            age(pod["metadata"].get("creationTimestamp"), now_s)]


def _event_row(ev: dict[str, Any], now_s: float) -> list[Any]:
    seen = ev.get("lastTimestamp") or ev.get("eventTime") or ev.get("firstTimestamp") or \
        ev["metadata"].get("creationTimestamp")
    involved = ev.get("involvedObject") or {}
    return [age(seen, now_s), ev.get("type") or "", ev.get("reason") or "",
            f"{str(involved.get('kind') or '').lower()}/{involved.get('name') or ''}", ev.get("message") or ""]


def _deployment_row(dep: dict[str, Any], now_s: float) -> list[Any]:
    status = dep.get("status") or {}
    desired = (dep.get("spec") or {}).get("replicas", 1)
    return [dep["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{desired}", status.get("updatedReplicas", 0),
            status.get("availableReplicas", 0), age(dep["metadata"].get("creationTimestamp"), now_s)]


def _default_row(obj: dict[str, Any], _: float) -> list[Any]:
    return [obj["metadata"]["name"], obj["metadata"].get("creationTimestamp")]


COLUMNS: dict[str, tuple[list[tuple[str, str]], Callable[[dict[str, Any], float], list[Any]]]] = {
    "Pod": ([("Name", "name"), ("Ready", ""), ("Status", ""), ("Restarts", ""), ("Age", "")], _pod_row),
    "Event": ([("Last Seen", ""), ("Type", ""), ("Reason", ""), ("Object", ""), ("Message", "")], _event_row),
    "Deployment": ([("Name", "name"), ("Ready", ""), ("Up-to-date", ""), ("Available", ""), ("Age", "")],
                   _deployment_row),
}


def table_doc(kind: str, objects: list[dict[str, Any]], resource_version: str) -> dict[str, Any]:
    """A meta.k8s.io/v1 Table of ``objects`` (each row carries the object's metadata as PartialObjectMetadata)."""
    columns, row = COLUMNS.get(kind, ([("Name", "name"), ("Created At", "date-time")], _default_row))
    now_s = time.time()
    definitions = [{"name": name, "type": "integer" if name == "Restarts" else "string", "format": fmt,
                    "description": name, "priority": 0} for name, fmt in columns]
    rows = [{"cells": row(obj, now_s),
             "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}}
            for obj in objects]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": definitions, "rows": rows}
