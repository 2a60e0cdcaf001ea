"""The sidecar proxy of each lab pod (like an Envoy sidecar): it owns the pod's port, forwards to the ``orders``
container on its local port, and is what clients see.

It exports the client-facing request metrics with the standard names -- ``http_requests_total{code,method,handler}``
and the ``http_request_duration_seconds`` histogram -- and answers 503 with an Envoy-style JSON error log line when
the application container is down (killed, restarting), 504 when it does not answer in time.
Run as ``python -m irlib.lab.proxy`` with ``LAB_PORT`` (listen) and ``LAB_UPSTREAM_PORT``.
"""
from __future__ import annotations

import http.client
import os
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .metrics import Counter, Histogram, process_metrics, render
from .service import ROUTES, QuietHandler, log

UPSTREAM_TIMEOUT_S = 5.0


def handler_of(method: str, path: str) -> str:
    """The route template of a request path (bounded label values), ``other`` when no route matches."""
    for verb, name, pattern in ROUTES:
        if verb == method and pattern.match(path):
            return name
    return "other"


def make_handler(upstream_port: int) -> type[BaseHTTPRequestHandler]:
    requests = Counter("http_requests_total", "Requests by status code, method and handler",
                       ("code", "method", "handler"))
    latency = Histogram("http_request_duration_seconds", "Request latency seen by clients", ("method", "handler"))

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            if urlsplit(self.path).path == "/stats/prometheus":
                return self._send(200, render([requests, latency], process_metrics), "text/plain; version=0.0.4")
            self._forward("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._forward("POST")

        def _forward(self, method: str) -> None:
            start = time.monotonic()
            handler = handler_of(method, urlsplit(self.path).path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                status, data, ctype = _upstream(upstream_port, method, self.path, body)
            except (ConnectionError, socket.timeout, http.client.HTTPException, OSError) as exc:
                timed_out = isinstance(exc, (socket.timeout, TimeoutError))
                status = 504 if timed_out else 503
                reason = "upstream request timeout" if timed_out else \
                    f"upstream connect error or disconnect/reset before headers. reset reason: {_reason(exc)}"
                log("ERROR", reason, logger="proxy", method=method, path=handler, status=status,
                    upstream=f"127.0.0.1:{upstream_port}")
                data, ctype = reason.encode(), "text/plain"
            elapsed = time.monotonic() - start
            requests.inc(str(status), method, handler)
            latency.observe(method, handler, value=elapsed)
            self._send(status, data, ctype)


    return Handler


def _upstream(port: int, method: str, path: str, body: bytes) -> tuple[int, bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=UPSTREAM_TIMEOUT_S)
    try:
        conn.request(method, path, body=body or None, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read(), resp.getheader("Content-Type") or "application/json"
    finally:
        conn.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection failure, transport failure reason: delayed connect error: 111"
    if isinstance(exc, (ConnectionResetError, http.client.RemoteDisconnected)):
        return "connection termination"
    return "overflow" if "overflow" in str(exc) else "connection failure"


def main() -> int:
    port, upstream = int(os.environ["LAB_PORT"]), int(os.environ["LAB_UPSTREAM_PORT"])
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(upstream))
    server.daemon_threads = True
    log("INFO", f"proxy listening on 127.0.0.1:{port}, upstream 127.0.0.1:{upstream}", logger="proxy")
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
