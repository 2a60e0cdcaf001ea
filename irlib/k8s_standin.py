"""A Kubernetes API stand-in on 127.0.0.1: real URL paths, discovery documents, lists, gets, selectors, the pod log
endpoint and Status error bodies, served from an in-memory object store.  The official ``kubernetes`` client and
``kubectl`` both work against it (read-only verbs: get, list).

Use::

    standin = StandIn(objects=[pod, deployment, ...], logs={("default", "web-1", "app", False): b"2024-...Z hi\\n"})
    url = standin.start()                 # http://127.0.0.1:<free port>
    standin.kubeconfig(tmp / "kubeconfig")  # a kubeconfig (context "standin") pointing at it
    standin.put(updated_pod)              # add or replace an object at runtime (kind decides the resource)
    standin.remove("Pod", "default", "web-1")
    standin.set_log("default", "web-1", "app", previous=True, data=b"...")
    standin.forbid("events")              # 403 Forbidden on that resource (all namespaces)
    standin.fail("pods", code=500)        # 500 InternalError on that resource
    standin.delay(2.0)                    # every answer waits 2 s (a slow API)
    StandIn(token="t")                    # requests without "Authorization: Bearer t" get 401 Unauthorized
    standin.stop()

Served: ``/version``, ``/api``, ``/apis``, ``/api/v1``, ``/apis/apps/v1`` and ``/apis/metrics.k8s.io/v1beta1`` (the
last only when PodMetrics/NodeMetrics objects were given); list (``limit``/``continue``, ``labelSelector``,
``fieldSelector``) and get of pods, events, namespaces, nodes, deployments, replicasets, statefulsets, daemonsets,
controllerrevisions, pod and node metrics, namespaced and across all namespaces; ``pods/{name}/log`` with
``container``, ``previous``, ``sinceSeconds``, ``sinceTime``, ``timestamps``, ``tailLines`` and ``limitBytes``.

Logs are given as the bytes ``kubectl logs --timestamps`` prints (an RFC 3339 stamp, a space, the line);
:func:`stamp_lines` builds them from plain lines.  Aggregated discovery is not offered: clients asking for it get
the legacy documents (as from an API server that predates it), which kubectl accepts.
"""
from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd

from .k8s_standin_http import StandInHandler

Key = tuple[str, str, str, bool]


@dataclass(frozen=True)
class Resource:
    """One served resource type."""

    group_version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return self.group_version.rpartition("/")[0]


RESOURCES: tuple[Resource, ...] = (
    Resource("v1", "pods", "Pod", True, ("po",), ("all",)),
    Resource("v1", "events", "Event", True, ("ev",)),
    Resource("v1", "namespaces", "Namespace", False, ("ns",)),
    Resource("v1", "nodes", "Node", False, ("no",)),
    Resource("apps/v1", "deployments", "Deployment", True, ("deploy",), ("all",)),
    Resource("apps/v1", "replicasets", "ReplicaSet", True, ("rs",), ("all",)),
    Resource("apps/v1", "statefulsets", "StatefulSet", True, ("sts",), ("all",)),
    Resource("apps/v1", "daemonsets", "DaemonSet", True, ("ds",), ("all",)),
    Resource("apps/v1", "controllerrevisions", "ControllerRevision", True),
    Resource("metrics.k8s.io/v1beta1", "pods", "PodMetrics", True),
    Resource("metrics.k8s.io/v1beta1", "nodes", "NodeMetrics", False),
)
METRICS_GV = "metrics.k8s.io/v1beta1"


def resource_for_kind(kind: str) -> Resource:
    """The resource serving objects of ``kind``."""
    for res in RESOURCES:
        if res.kind == kind:
            return res
    raise ValueError(f"the stand-in does not serve kind {kind!r}; it serves {[r.kind for r in RESOURCES]}")


def _user(token: str | None) -> dict[str, str]:
    return {"token": token} if token else {}


def stamp_lines(lines: Iterable[bytes | str], start: pd.Timestamp, every_s: float = 1.0) -> bytes:
    """Plain log lines as ``--timestamps`` bytes, the first at ``start`` and one every ``every_s`` seconds."""
    out = bytearray()
    for i, line in enumerate(lines):
        stamp = (pd.Timestamp(start).tz_convert("UTC") + pd.Timedelta(seconds=every_s * i))
        out += stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode() + b" "
        out += line.encode("utf-8") if isinstance(line, str) else line
        out += b"\n"
    return bytes(out)


class _QuietServer(ThreadingHTTPServer):
    """A threading HTTP server that keeps handler errors (a client that hung up, ...) instead of printing them."""

    daemon_threads = True
    errors: list[str]

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys
        exc = sys.exc_info()[1]
        self.errors.append(f"{client_address}: {type(exc).__name__}: {exc}")


class StandIn:
    """The in-memory API server (see the module docstring)."""

    def __init__(self, objects: Iterable[Mapping[str, Any]] = (), logs: Mapping[Key, bytes] | None = None, *,
                 token: str | None = None, chunk_bytes: int = 32 * 1024) -> None:
        self.token = token
        self.chunk_bytes = chunk_bytes
        self._lock = threading.Lock()
        self._store: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = {}
        self._logs: dict[Key, bytes] = dict(logs or {})
        self._forbidden: set[str] = set()
        self._failing: dict[str, int] = {}
        self._delay_s = 0.0
        self._requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._revision = 1000
        for obj in objects:
            self.put(obj)

    # -- the store --------------------------------------------------------------------------------------------------
    def put(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Add or replace an object (its ``kind`` picks the resource); returns the stored copy."""
        res = resource_for_kind(str(obj.get("kind")))
        stored = json.loads(json.dumps(obj))
        meta = stored.setdefault("metadata", {})
        namespace = str(meta.get("namespace") or "default") if res.namespaced else ""
        if res.namespaced:
            meta["namespace"] = namespace
        meta.setdefault("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"{res.kind}/{namespace}/{meta.get('name')}")))
        with self._lock:
            self._revision += 1
            meta["resourceVersion"] = str(self._revision)
            stored["apiVersion"], stored["kind"] = res.group_version, res.kind
            self._store.setdefault((res.group_version, res.plural), {})[(namespace, str(meta["name"]))] = stored
        return stored

    def remove(self, kind: str, namespace: str, name: str) -> None:
        """Delete an object (no error if absent)."""
        res = resource_for_kind(kind)
        with self._lock:
            self._store.get((res.group_version, res.plural), {}).pop((namespace if res.namespaced else "", name), None)

    def set_log(self, namespace: str, pod: str, container: str, *, previous: bool, data: bytes) -> None:
        """Set a container's log (``--timestamps`` bytes); ``previous`` is the last terminated instance's log."""
        with self._lock:
            self._logs[(namespace, pod, container, previous)] = bytes(data)

    def log(self, namespace: str, pod: str, container: str, previous: bool) -> bytes | None:
        with self._lock:
            return self._logs.get((namespace, pod, container, previous))

    def objects(self, res: Resource, namespace: str | None) -> list[dict[str, Any]]:
        """Stored objects of a resource (in ``namespace``, or all), sorted by namespace and name."""
        with self._lock:
            bucket = dict(self._store.get((res.group_version, res.plural), {}))
            if res.plural == "namespaces" and res.group_version == "v1":
                bucket = {**self._derived_namespaces(), **bucket}
        keys = sorted(k for k in bucket if namespace is None or k[0] == namespace)
        return [bucket[k] for k in keys]

    def _derived_namespaces(self) -> dict[tuple[str, str], dict[str, Any]]:
        names = {ns for bucket in self._store.values() for ns, _ in bucket if ns} | {"default"}
        return {("", ns): {"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": ns, "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ns/{ns}")),
                                        "resourceVersion": "1", "creationTimestamp": "2020-01-01T00:00:00Z"},
                           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
                for ns in names}

    def resource_version(self) -> str:
        with self._lock:
            return str(self._revision)

    def serves_metrics(self) -> bool:
        with self._lock:
            return any(gv == METRICS_GV and bucket for (gv, _), bucket in self._store.items())

    def note_request(self, path: str) -> None:
        with self._lock:
            self._requests.append(path)

    def requests(self) -> list[str]:
        """Every request path (with its query string) served so far, oldest first."""
        with self._lock:
            return list(self._requests)

    # -- faults -----------------------------------------------------------------------------------------------------
    def forbid(self, plural: str) -> None:
        """Answer 403 Forbidden for every request on resource ``plural`` (e.g. "events", "pods/log")."""
        with self._lock:
            self._forbidden.add(plural)

    def fail(self, plural: str, code: int = 500) -> None:
        """Answer ``code`` (an InternalError Status for 5xx) for every request on resource ``plural``."""
        with self._lock:
            self._failing[plural] = code

    def delay(self, seconds: float) -> None:
        """Wait ``seconds`` before every answer (a slow API server)."""
        with self._lock:
            self._delay_s = float(seconds)

    def heal(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._forbidden.clear()
            self._failing.clear()
            self._delay_s = 0.0

    def fault(self, plural: str) -> tuple[float, int]:
        """(delay in seconds, fault status or 0) for a request on ``plural``."""
        with self._lock:
            code = 403 if plural in self._forbidden else self._failing.get(plural, 0)
            return self._delay_s, code

    # -- the server -------------------------------------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1 (a free port unless given) in a daemon thread; returns the base URL."""
        if self._server is not None:
            return self.url
        server = _QuietServer(("127.0.0.1", port), StandInHandler)
        server.errors = []
        server.standin = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="k8s-standin", daemon=True)
        self._thread.start()
        return self.url

    def handler_errors(self) -> list[str]:
        """Errors raised while answering (e.g. a client that hung up before a delayed answer), oldest first."""
        return list(self._server.errors) if self._server is not None else []

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stand-in is not started; call start() first")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def __enter__(self) -> "StandIn":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def kubeconfig(self, path: str | Path, *, namespace: str = "default", token: str | None = None) -> Path:
        """Write a kubeconfig (cluster, user, context "standin") pointing at the stand-in.

        The user carries ``token`` (default: the stand-in's own, when it requires one).  kubectl does not send bearer
        tokens over plain HTTP, so a stand-in used with kubectl is built without a token.
        """
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": "standin", "preferences": {},
            "clusters": [{"name": "standin", "cluster": {"server": self.url}}],
            "users": [{"name": "standin", "user": _user(token if token is not None else self.token)}],
            "contexts": [{"name": "standin", "context": {"cluster": "standin", "user": "standin",
                                                         "namespace": namespace}}],
        }
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(config, indent=1), encoding="utf-8")  # JSON is YAML
        return target
