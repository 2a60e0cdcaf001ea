"""The HTTP side of :mod:`irlib.k8s_standin`: routing, discovery documents, lists and gets, the log endpoint, and the
API's Status error bodies.  The store and the faults live on ``server.standin``.
"""
from __future__ import annotations

import base64
import json
import math
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from .k8s_standin_tables import table_doc, wants_table
from .sources.k8s_selectors import SelectorError, matches_labels, parse_field_selector, parse_label_selector

if TYPE_CHECKING:
    from .k8s_standin import Resource, StandIn

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
           500: "InternalError", 503: "ServiceUnavailable"}


class ApiError(Exception):
    """An answer with a Status body."""

    def __init__(self, code: int, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or {}

    def body(self) -> dict[str, Any]:
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message,
                  "reason": REASONS.get(self.code, "InternalError"), "code": self.code}
        if self.details:
            status["details"] = self.details
        return status


class StandInHandler(BaseHTTPRequestHandler):
    """One request to the stand-in."""

    protocol_version = "HTTP/1.1"
    server_version = "irlib-k8s-standin"

    @property
    def standin(self) -> "StandIn":
        return self.server.standin  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        """Quiet: the library never prints."""

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        url = urlsplit(self.path)
        self.standin.note_request(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            self._authorize()
            self._route(url.path.rstrip("/") or "/", query)
        except ApiError as err:
            self._send_json(err.code, err.body())

    def _not_read_only(self) -> None:
        self.close_connection = True
        self._send_json(405, ApiError(405, "the irlib stand-in is read-only: only GET is served").body())

    do_POST = do_PUT = do_PATCH = do_DELETE = _not_read_only  # noqa: N815

    def _authorize(self) -> None:
        token = self.standin.token
        if token and self.headers.get("Authorization", "") != f"Bearer {token}":
            raise ApiError(401, "Unauthorized")

    # -- routing ----------------------------------------------------------------------------------------------------
    def _route(self, path: str, query: dict[str, str]) -> None:
        fixed = {"/version": version_doc, "/api": lambda s: api_versions_doc(s, self.server.server_address),
                 "/apis": apis_doc}
        if path in fixed:
            return self._send_json(200, fixed[path](self.standin))
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "v1"]:
            return self._resource_path("v1", parts[2:], query)
        if parts[0] == "apis" and len(parts) >= 3:
            return self._resource_path(f"{parts[1]}/{parts[2]}", parts[3:], query)
        raise ApiError(404, "the server could not find the requested resource")

    def _resource_path(self, group_version: str, rest: list[str], query: dict[str, str]) -> None:
        from .k8s_standin import METRICS_GV, RESOURCES
        served = [r for r in RESOURCES if r.group_version == group_version]
        if not served or (group_version == METRICS_GV and not self.standin.serves_metrics()):
            raise ApiError(404, "the server could not find the requested resource")
        if not rest:
            return self._send_json(200, resource_list_doc(group_version, served))
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        res = next((r for r in served if r.plural == rest[0]), None)
        if res is None or (namespace is not None and not res.namespaced) or len(rest) > 3:
            raise ApiError(404, "the server could not find the requested resource")
        sub = rest[2] if len(rest) == 3 else ""
        self._apply_faults(res, namespace, sub, "get" if len(rest) > 1 else "list")
        table = wants_table(self.headers.get("Accept", ""))
        if len(rest) == 1:
            doc = list_doc(self.standin, res, namespace, query)
            if table:
                return self._send_json(200, {**table_doc(res.kind, doc["items"], doc["metadata"]["resourceVersion"]),
                                             "metadata": doc["metadata"]})
            return self._send_json(200, doc)
        obj = get_object(self.standin, res, namespace, rest[1])
        if sub == "log" and res.plural == "pods" and res.group_version == "v1":
            return self._send_log(obj, query)
        if sub:
            raise ApiError(404, "the server could not find the requested resource")
        if table:
            return self._send_json(200, table_doc(res.kind, [obj], self.standin.resource_version()))
        return self._send_json(200, obj)

    def _apply_faults(self, res: "Resource", namespace: str | None, sub: str, verb: str) -> None:
        plural = f"{res.plural}/{sub}" if sub else res.plural
        delay, code = self.standin.fault(plural)
        if delay:
            time.sleep(delay)
        if code == 403:
            where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
            raise ApiError(403, f'{plural} is forbidden: User "system:serviceaccount:irlib:irlib" cannot {verb} '
                                f'resource "{res.plural}" in API group "{res.group}"{where}',
                           {"kind": res.plural, "group": res.group})
        if code:
            raise ApiError(code, f"Internal error occurred: injected failure on {plural}")

    # -- answers ----------------------------------------------------------------------------------------------------
    def _send_json(self, code: int, doc: dict[str, Any]) -> None:
        body = json.dumps(doc).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_log(self, pod: dict[str, Any], query: dict[str, str]) -> None:
        body = log_body(self.standin, pod, query)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        step = max(1, self.standin.chunk_bytes)
        for offset in range(0, len(body), step):
            piece = body[offset: offset + step]
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


# -- documents --------------------------------------------------------------------------------------------------------
def version_doc(_: "StandIn") -> dict[str, Any]:
    return {"major": "1", "minor": "32", "gitVersion": "v1.32.0", "gitCommit": "irlib-standin",
            "gitTreeState": "clean", "buildDate": "2024-12-11T00:00:00Z", "goVersion": "go1.23.3",
            "compiler": "gc", "platform": "linux/amd64"}


def api_versions_doc(_: "StandIn", address: Any) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"{address[0]}:{address[1]}"}]}


def apis_doc(standin: "StandIn") -> dict[str, Any]:
    from .k8s_standin import METRICS_GV
    groups = ["apps/v1"] + ([METRICS_GV] if standin.serves_metrics() else [])
    docs = []
    for gv in groups:
        group, _, version = gv.partition("/")
        entry = {"groupVersion": gv, "version": version}
        docs.append({"name": group, "versions": [entry], "preferredVersion": entry})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": docs}


def resource_list_doc(group_version: str, served: list["Resource"]) -> dict[str, Any]:
    resources = []
    for res in served:
        singular = res.kind.lower()
        doc: dict[str, Any] = {"name": res.plural, "singularName": singular, "namespaced": res.namespaced,
                               "kind": res.kind, "verbs": ["get", "list"]}
        if res.short_names:
            doc["shortNames"] = list(res.short_names)
        if res.categories:
            doc["categories"] = list(res.categories)
        resources.append(doc)
        if res.kind == "Pod" and group_version == "v1":
            resources.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod",
                              "verbs": ["get"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


def list_doc(standin: "StandIn", res: "Resource", namespace: str | None, query: dict[str, str]) -> dict[str, Any]:
    try:
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(query.get("fieldSelector", ""), res.plural)
    except SelectorError as exc:
        raise ApiError(400, str(exc)) from exc
    items = [o for o in standin.objects(res, namespace)
             if matches_labels(labels, (o.get("metadata") or {}).get("labels")) and all(f(o) for f in fields)]
    offset = _decode_continue(query.get("continue", ""))
    limit = int(query.get("limit") or 0)
    page = items[offset: offset + limit] if limit > 0 else items[offset:]
    meta: dict[str, Any] = {"resourceVersion": standin.resource_version()}
    if limit > 0 and offset + limit < len(items):
        meta["continue"] = base64.urlsafe_b64encode(json.dumps({"offset": offset + limit}).encode()).decode()
        meta["remainingItemCount"] = len(items) - offset - limit
    stripped = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in page]
    return {"kind": f"{res.kind}List", "apiVersion": res.group_version, "metadata": meta, "items": stripped}


def _decode_continue(token: str) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode())).get("offset", 0))
    except (ValueError, TypeError, AttributeError) as exc:
        raise ApiError(400, "continue key is not valid: incorrect encoded start resourceVersion") from exc


def get_object(standin: "StandIn", res: "Resource", namespace: str | None, name: str) -> dict[str, Any]:
    if res.namespaced and namespace is None:
        raise ApiError(404, "the server could not find the requested resource")
    found = next((o for o in standin.objects(res, namespace if res.namespaced else None)
                  if o["metadata"]["name"] == name), None)
    if found is None:
        raise ApiError(404, f'{res.plural} "{name}" not found', {"name": name, "kind": res.plural})
    return found


# -- the log endpoint -------------------------------------------------------------------------------------------------
def choose_container(pod: dict[str, Any], asked: str) -> str:
    """The container a log request is for, with the API's 400 answers for a missing or unknown name."""
    spec, name = pod.get("spec") or {}, pod["metadata"]["name"]
    names = {k: [str(c.get("name")) for c in spec.get(k) or []]
             for k in ("containers", "initContainers", "ephemeralContainers")}
    if not asked:
        default = (pod["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
        if default:
            return str(default)
        if len(names["containers"]) == 1:
            return names["containers"][0]
        message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(names['containers'])}]"
        if names["initContainers"]:
            message += f" or one of the init containers: [{' '.join(names['initContainers'])}]"
        if names["ephemeralContainers"]:
            message += f" or one of the ephemeral containers: [{' '.join(names['ephemeralContainers'])}]"
        raise ApiError(400, message)
    if not any(asked in group for group in names.values()):
        raise ApiError(400, f"container {asked} is not valid for pod {name}")
    return asked


def _waiting_reason(pod: dict[str, Any], container: str) -> str:
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for s in status.get(key) or []:
            if s.get("name") == container:
                return str(((s.get("state") or {}).get("waiting") or {}).get("reason") or "")
    return "ContainerCreating"


def log_body(standin: "StandIn", pod: dict[str, Any], query: dict[str, str]) -> bytes:
    """The log answer's bytes, filtered like the kubelet does, or the API's 400 for a missing log."""
    meta = pod["metadata"]
    container = choose_container(pod, query.get("container", ""))
    previous = query.get("previous", "false").lower() == "true"
    data = standin.log(meta["namespace"], meta["name"], container, previous)
    if data is None and previous:
        raise ApiError(400, f'previous terminated container "{container}" in pod "{meta["name"]}" not found')
    if data is None:
        reason = _waiting_reason(pod, container)
        if reason in ("ContainerCreating", "PodInitializing"):
            raise ApiError(400, f'container "{container}" in pod "{meta["name"]}" is waiting to start: {reason}')
        data = b""
    return filter_log(data, query)


def filter_log(data: bytes, query: dict[str, str]) -> bytes:
    """Apply sinceSeconds/sinceTime, tailLines, timestamps and limitBytes to ``--timestamps`` log bytes."""
    lines = data.splitlines(keepends=True)
    since = _since(query)
    if since is not None:
        lines = [ln for ln in lines if _stamp(ln) is None or _stamp(ln) >= since]
    tail = query.get("tailLines")
    if tail not in (None, ""):
        count = int(str(tail))
        lines = lines[-count:] if count > 0 else []
    if query.get("timestamps", "false").lower() != "true":
        lines = [ln.split(b" ", 1)[1] if _stamp(ln) is not None and b" " in ln else ln for ln in lines]
    body = b"".join(lines)
    limit = query.get("limitBytes")
    return body[: int(limit)] if limit not in (None, "") else body


def _since(query: dict[str, str]) -> pd.Timestamp | None:
    if query.get("sinceSeconds"):
        seconds = int(query["sinceSeconds"])
        if seconds <= 0:
            raise ApiError(400, "sinceSeconds: Invalid value: must be greater than 0")
        return pd.Timestamp(math.floor(time.time() - seconds), unit="s", tz="UTC")
    if query.get("sinceTime"):
        return pd.Timestamp(query["sinceTime"]).tz_convert("UTC")
    return None


def _stamp(line: bytes) -> pd.Timestamp | None:
    head = line.split(b" ", 1)[0]
    if len(head) < 20 or head[4:5] != b"-" or head[10:11] != b"T":
        return None
    try:
        return pd.Timestamp(head.decode("ascii")).tz_convert("UTC")
    except (ValueError, UnicodeDecodeError):
        return None
