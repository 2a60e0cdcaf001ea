"""Kubernetes evidence through the official ``kubernetes`` client: pods, container logs, events, rollout history and
resource usage, as tidy frames.

Configuration (``sources.kubernetes`` of the incident): ``kubeconfig`` and ``context``, or ``in_cluster: true``
(the pod's service account); ``timeout_s`` (default 10) bounds every call, ``log_lines`` (default 10000) and
``log_bytes`` (default 2 MB) cap each container's log.  Each source instance has its own ``ApiClient``; the global
client configuration is never touched.

Answers are read as the API's JSON (``_preload_content=False``) and parsed by :mod:`irlib.sources.k8s_parse`, so a
field the client's models would reject (such as a null event time) never loses a row.  401/403/404/5xx and an
unreachable API raise :class:`~irlib.errors.SourceUnavailable` with the API's Status message; a 400 on a list (a bad
selector) raises :class:`~irlib.errors.QueryError`.
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from ..analysis.text import counted
from ..errors import QueryError, SourceUnavailable
from ..incident import Incident
from . import k8s_parse as kp
from .base import Fetched, fetcher
from .k8s_logs import POD_LOGS_SCHEMA, LogLine, LogLineReader, parse_log_lines, split_timestamp, trim_to_window

SOURCE = "kubernetes"
PAGE_SIZE = 500
MAX_ITEMS = 20000
CHUNK_BYTES = 64 * 1024


def build_api_client(settings: dict[str, Any]) -> k8s.ApiClient:
    """An ApiClient of its own from ``kubeconfig``/``context`` or the in-cluster service account."""
    cfg = k8s.Configuration()
    try:
        if settings.get("in_cluster"):
            k8s_config.load_incluster_config(client_configuration=cfg)
        else:
            k8s_config.load_kube_config(config_file=settings.get("kubeconfig"), context=settings.get("context"),
                                        client_configuration=cfg, persist_config=False)
    except (ConfigException, OSError, ValueError, TypeError) as exc:
        where = "the in-cluster service account" if settings.get("in_cluster") else \
            f"kubeconfig {settings.get('kubeconfig') or '(default ~/.kube/config)'}"
        raise SourceUnavailable(SOURCE, f"cannot load {where}: {exc}; set sources.kubernetes.kubeconfig and "
                                        "context, or in_cluster: true") from exc
    cfg.retries = urllib3.Retry(total=2, connect=1, read=0, status=0, backoff_factor=0.2)
    return k8s.ApiClient(cfg)


def status_message(exc: ApiException) -> str:
    """The ``message`` of the API's Status body, else the HTTP reason."""
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else exc.body
    try:
        message = json.loads(body or "").get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or (body or "").strip()[:300] or exc.reason or "no message")


def unavailable(exc: Exception, query: str) -> SourceUnavailable:
    """The SourceUnavailable for an API error or a connection failure."""
    if isinstance(exc, ApiException):
        hint = {401: "the credentials were refused; renew the kubeconfig token",
                403: "forbidden; apply deploy/rbac.yaml (read-only role) to the service account",
                404: "not found"}.get(int(exc.status or 0), "the API server failed")
        return SourceUnavailable(SOURCE, f"HTTP {exc.status}: {status_message(exc)} ({hint})", query=query)
    return SourceUnavailable(SOURCE, f"API server unreachable or too slow: {type(exc).__name__}: {exc}", query=query)


class KubernetesSource:
    """Kubernetes state and logs for one incident.  Every fetch takes keyword arguments and returns Fetched."""

    def __init__(self, incident: Incident, api_client: k8s.ApiClient | None = None) -> None:
        settings = dict(incident.sources.get("kubernetes") or {})
        self.timeout_s = float(settings.get("timeout_s", 10))
        self.log_lines = int(settings.get("log_lines", 10000))
        self.log_bytes = int(settings.get("log_bytes", 2_000_000))
        self.api_client = api_client or build_api_client(settings)
        self.core = k8s.CoreV1Api(self.api_client)
        self.apps = k8s.AppsV1Api(self.api_client)
        self.custom = k8s.CustomObjectsApi(self.api_client)
        self.apis = k8s.ApisApi(self.api_client)

    # -- plumbing -------------------------------------------------------------------------------------------------
    def _timeout(self) -> tuple[float, float]:
        return (self.timeout_s, self.timeout_s)

    def _json(self, call: Callable[..., Any], query: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Call a client method for its raw JSON answer, mapping every failure to irlib's errors."""
        try:
            resp = call(*args, _preload_content=False, _request_timeout=self._timeout(), **kwargs)
            data = json.loads(resp.data)
        except ApiException as exc:
            if exc.status == 400:
                raise QueryError(SOURCE, query, status_message(exc)) from exc
            raise unavailable(exc, query) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise unavailable(exc, query) from exc
        except ValueError as exc:
            raise SourceUnavailable(SOURCE, f"the answer was not JSON: {exc}", query=query) from exc
        if not isinstance(data, dict):
            raise SourceUnavailable(SOURCE, "the answer was not a JSON object", query=query)
        return data

    def _list(self, call: Callable[..., Any], query: str, *args: Any, **kwargs: Any) -> tuple[list[dict[str, Any]], bool]:
        """All items of a list, page by page (``limit``/``continue``), up to MAX_ITEMS; second value: cap hit."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            page = self._json(call, query, *args, limit=PAGE_SIZE, **({"_continue": token} if token else {}),
                              **kwargs)
            items.extend(page.get("items") or [])
            token = str((page.get("metadata") or {}).get("continue") or "")
            if not token:
                return items, False
            if len(items) >= MAX_ITEMS:
                return items[:MAX_ITEMS], True

    def _pods(self, namespace: str, selector: str) -> tuple[list[dict[str, Any]], str, bool]:
        query = f"GET /api/v1/namespaces/{namespace}/pods?labelSelector={selector}"
        items, capped = self._list(self.core.list_namespaced_pod, query, namespace, label_selector=selector)
        return items, query, capped

    # -- pods -----------------------------------------------------------------------------------------------------
    @fetcher(kp.PODS_SCHEMA)
    def pods(self, *, namespace: str, selector: str) -> Fetched:
        """Pods matching ``selector`` in ``namespace``, one row per container (init, app, ephemeral).

        Columns: pod, namespace, phase, pod_ready (boolean), node, owner_kind, owner_name, container,
        container_type ("init"|"app"|"ephemeral"), image, ready (boolean), restarts (Int64), state
        ("running"|"waiting"|"terminated"|""), waiting_reason, last_reason (e.g. OOMKilled), last_exit_code (Int64),
        last_finished_at, started_at (UTC), cpu_request, cpu_limit (cores), memory_request, memory_limit (bytes),
        pod_created_at (UTC), labels (JSON), sidecar (boolean: init container with restartPolicy Always).
        """
        items, query, capped = self._pods(namespace, selector)
        notes = [f"stopped after {MAX_ITEMS} pods"] if capped else []
        return Fetched(kp.parse_pods(items), query, capped, notes)

    # -- logs -----------------------------------------------------------------------------------------------------
    @fetcher(POD_LOGS_SCHEMA)
    def pod_logs(self, *, namespace: str, selector: str, start: pd.Timestamp, end: pd.Timestamp) -> Fetched:
        """Logs of every container of every selected pod in [start, end]: current, and previous where restarted.

        Columns: timestamp (UTC), pod, container, previous (boolean), line, decode_error (boolean: the line's bytes
        were not valid UTF-8 and were decoded with U+FFFD).  Each container's log is capped at ``log_lines`` lines
        and ``log_bytes`` bytes (earliest first); a cap hit sets truncated and adds a note naming the container.
        """
        start, end = pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")
        items, pods_query, _ = self._pods(namespace, selector)
        frames, notes, truncated = [], [], False
        since = math.ceil(time.time() - start.timestamp()) + 1  # the API only knows "since", relative to its clock
        for pod in items:
            name = str(pod["metadata"]["name"])
            for container, restarts in kp.pod_containers(pod):
                for previous in ((False, True) if restarts > 0 else (False,)):
                    frame, cut, note = self._container_log(namespace, name, container, previous, since, start, end)
                    frames.append(frame)
                    truncated |= cut
                    notes += [note] if note else []
        query = (f"{pods_query}; then GET .../pods/<pod>/log?container=<c>&timestamps=true&sinceSeconds={since}"
                 f"&limitBytes={self.log_bytes + 1} (and previous=true where restarts > 0)")
        frame = pd.concat(frames, ignore_index=True) if frames else None
        return Fetched(frame if frame is not None else parse_log_lines([], pod="", container="", previous=False),
                       query, truncated, notes)

    def _container_log(self, namespace: str, pod: str, container: str, previous: bool, since: int,
                       start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.DataFrame, bool, str]:
        """One container's log in the window, whether a cap was hit, and a note (cap, or a normal 400/404)."""
        label = f"{pod}/{container}{' (previous)' if previous else ''}"
        query = f"GET /api/v1/namespaces/{namespace}/pods/{pod}/log?container={container}&previous={previous}"
        empty = parse_log_lines([], pod=pod, container=container, previous=previous)
        if since <= 0:
            return empty, False, f"{label}: the window starts after the API's clock; no log asked for"
        try:
            resp = self.core.read_namespaced_pod_log(
                pod, namespace, container=container, previous=previous, timestamps=True, since_seconds=since,
                limit_bytes=self.log_bytes + 1, _preload_content=False, _request_timeout=self._timeout())
            lines, byte_cut = self._read_stream(resp, end)
        except ApiException as exc:
            if exc.status in (400, 404):  # no previous instance, not started yet, or the pod is gone
                return empty, False, f"{label}: {status_message(exc)}"
            raise unavailable(exc, query) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise unavailable(exc, query) from exc
        frame = trim_to_window(parse_log_lines(lines, pod=pod, container=container, previous=previous), start, end)
        notes = []
        if byte_cut:
            notes.append(f"stopped at the {self.log_bytes}-byte cap")
        if len(frame) > self.log_lines:
            frame = frame.iloc[: self.log_lines].reset_index(drop=True)
            notes.append(f"kept the first {self.log_lines} lines")
        long_lines = sum(line.cut for line in lines)
        if long_lines:
            notes.append(f"{counted(long_lines, 'over-long line')} cut")
        return frame, bool(notes), f"{label}: {'; '.join(notes)}; narrow the window to see the rest" if notes else ""

    def _read_stream(self, resp: Any, end: pd.Timestamp) -> tuple[list[LogLine], bool]:
        """Decoded lines from a streamed log answer (stopping past ``end`` or at the byte cap); cap hit?"""
        reader, lines, total, cut, complete = LogLineReader(), [], 0, False, False
        end_second = end.strftime("%Y-%m-%dT%H:%M:%S")
        try:
            for chunk in resp.stream(CHUNK_BYTES, decode_content=True):
                if total + len(chunk) > self.log_bytes:
                    chunk, cut = chunk[: self.log_bytes - total], True
                total += len(chunk)
                lines.extend(reader.feed(chunk))
                if cut or (lines and split_timestamp(lines[-1].text)[0][:19] > end_second):
                    break
            else:
                lines.extend(reader.close())
                complete = True
        finally:
            if not complete:  # unread bytes remain: never hand this connection back to the pool
                resp.close()
            resp.release_conn()
        return lines, cut

    # -- events ---------------------------------------------------------------------------------------------------
    @fetcher(kp.EVENTS_SCHEMA)
    def events(self, *, namespace: str, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None) -> Fetched:
        """core/v1 Events of ``namespace``, sorted by time, kept when their time is in [start, end].

        Columns: time (lastTimestamp, else eventTime, else firstTimestamp, else creationTimestamp), first_time,
        last_time (UTC), type, reason, object_kind, object_name, message, count (Int64), component.
        """
        query = f"GET /api/v1/namespaces/{namespace}/events"
        items, capped = self._list(self.core.list_namespaced_event, query, namespace)
        frame = kp.parse_events(items)
        if start is not None or end is not None:
            frame = kp.filter_window(frame, "time", _utc(start), _utc(end))
        return Fetched(frame, query, capped, [f"stopped after {MAX_ITEMS} events"] if capped else [])

    # -- rollout history ------------------------------------------------------------------------------------------
    @fetcher(kp.ROLLOUT_SCHEMA)
    def rollout_history(self, *, namespace: str, selector: str) -> Fetched:
        """Revisions of the Deployments (from their ReplicaSets) and StatefulSets/DaemonSets (from
        ControllerRevisions) matching ``selector``, what ``kubectl rollout history`` shows.

        Columns: kind, name, revision (Int64), change_cause, images (comma-joined), created_at (UTC), replicaset
        (ReplicaSet or ControllerRevision name), current (boolean), replicas, ready_replicas (Int64; null for
        ControllerRevisions).
        """
        query = f"GET /apis/apps/v1/namespaces/{namespace}/deployments?labelSelector={selector} and their replicasets"
        deployments, _ = self._list(self.apps.list_namespaced_deployment, query, namespace, label_selector=selector)
        frames = []
        for dep in deployments:
            rs_selector = kp.selector_text((dep.get("spec") or {}).get("selector"))
            replicasets, _ = self._list(self.apps.list_namespaced_replica_set, query, namespace,
                                        label_selector=rs_selector)
            frames.append(kp.parse_deployment_history(dep, replicasets))
        notes: list[str] = []
        for kind, lister in (("StatefulSet", self.apps.list_namespaced_stateful_set),
                             ("DaemonSet", self.apps.list_namespaced_daemon_set)):
            frames.extend(self._revision_histories(kind, lister, namespace, selector, notes))
        frame = pd.concat(frames, ignore_index=True) if frames else kp.parse_deployment_history({}, [])
        return Fetched(frame, query + "; statefulsets, daemonsets and controllerrevisions", False, notes)

    def _revision_histories(self, kind: str, lister: Callable[..., Any], namespace: str, selector: str,
                            notes: list[str]) -> list[pd.DataFrame]:
        query = f"GET /apis/apps/v1/namespaces/{namespace}/{kind.lower()}s?labelSelector={selector}"
        try:
            owners, _ = self._list(lister, query, namespace, label_selector=selector)
            frames = []
            for owner in owners:
                owner = {**owner, "kind": kind}
                rev_selector = kp.selector_text((owner.get("spec") or {}).get("selector"))
                revisions, _ = self._list(self.apps.list_namespaced_controller_revision, query, namespace,
                                          label_selector=rev_selector)
                frames.append(kp.parse_revision_history(owner, revisions))
            return frames
        except SourceUnavailable as exc:  # Deployments were read; these are extras
            notes.append(f"{kind}s not read: {exc.reason}")
            return []

    # -- metrics.k8s.io -------------------------------------------------------------------------------------------
    def _metrics_version(self) -> str:
        query = "GET /apis (discovery of metrics.k8s.io)"
        groups = self._json(self.apis.get_api_versions, query).get("groups") or []
        group = next((g for g in groups if g.get("name") == "metrics.k8s.io"), None)
        if group is None:
            raise SourceUnavailable(SOURCE, "the metrics.k8s.io API is not served by this cluster (no "
                                            "metrics-server); usage comes from Prometheus instead", query=query)
        return str((group.get("preferredVersion") or {}).get("version") or "v1beta1")

    @fetcher(kp.POD_USAGE_SCHEMA)
    def pod_usage(self, *, namespace: str, selector: str) -> Fetched:
        """Current CPU and memory of each container of the selected pods (metrics.k8s.io PodMetrics).

        Columns: timestamp (UTC), pod, container, cpu_cores (float64), memory_bytes (float64).
        """
        version = self._metrics_version()
        query = f"GET /apis/metrics.k8s.io/{version}/namespaces/{namespace}/pods?labelSelector={selector}"
        data = self._json(self.custom.list_namespaced_custom_object, query, "metrics.k8s.io", version, namespace,
                          "pods", label_selector=selector)
        return Fetched(kp.parse_pod_usage(data.get("items") or []), query)

    @fetcher(kp.NODE_USAGE_SCHEMA)
    def node_usage(self) -> Fetched:
        """Current CPU and memory of every node (metrics.k8s.io NodeMetrics).

        Columns: timestamp (UTC), node, cpu_cores (float64), memory_bytes (float64).
        """
        version = self._metrics_version()
        query = f"GET /apis/metrics.k8s.io/{version}/nodes"
        data = self._json(self.custom.list_cluster_custom_object, query, "metrics.k8s.io", version, "nodes")
        return Fetched(kp.parse_node_usage(data.get("items") or []), query)


def _utc(value: pd.Timestamp | None) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value).tz_convert("UTC")
