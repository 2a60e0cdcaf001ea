"""Misbehaving servers on 127.0.0.1 for fault tests: one TCP listener per fault mode.

Modes: ``reset`` (accept, then close at once: a crashed backend), ``silent`` (accept, read, never answer: a hung
backend), ``close-after-read`` (read the request, close without a byte: an empty answer), ``garbage-bytes`` (send
binary noise at once: a wrong protocol), and the HTTP modes ``status:<code>`` (a JSON error body), ``slow``
(answer 200 after ``slow_s``), ``garbage`` (200 with an HTML error page where JSON is expected) and ``empty``
(200 with an empty body).  :func:`refusing_port` is a port where nothing listens.
"""
from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from irlib.servers import free_port


class _FaultServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, mode: str, slow_s: float) -> None:
        super().__init__(("127.0.0.1", 0), _FaultHandler)
        self.mode, self.slow_s, self.stopping = mode, slow_s, threading.Event()


def _read_request(sock: socket.socket) -> bytes:
    data = b""
    sock.settimeout(5)
    try:
        while b"\r\n\r\n" not in data and len(data) < 65536:
            block = sock.recv(4096)
            if not block:
                break
            data += block
    except OSError:
        pass
    return data


def _http(code: int, body: bytes, content_type: str = "application/json") -> bytes:
    reason = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 500: "Internal Server Error",
              502: "Bad Gateway", 503: "Service Unavailable"}.get(code, "Error")
    head = (f"HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")
    return head.encode("ascii") + body


class _FaultHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: _FaultServer = self.server  # type: ignore[assignment]
        mode, sock = server.mode, self.request
        if mode == "reset":
            return
        if mode == "garbage-bytes":
            sock.sendall(bytes(range(256)) * 4)
            return
        _read_request(sock)
        if mode == "silent":
            server.stopping.wait(30)
        elif mode == "close-after-read":
            return
        elif mode.startswith("status:"):
            code = int(mode.split(":", 1)[1])
            sock.sendall(_http(code, b'{"status":"error","errorType":"server_error","error":"injected fault"}'))
        elif mode == "slow":
            if not server.stopping.wait(server.slow_s):
                sock.sendall(_http(200, b'{"status":"success","data":{"resultType":"matrix","result":[]}}'))
        elif mode == "garbage":
            sock.sendall(_http(200, b"<html><body>502 upstream \x00\xff error{", "application/json"))
        elif mode == "empty":
            sock.sendall(_http(200, b""))
        else:
            raise ValueError(f"unknown fault mode {mode}")


@contextmanager
def fault_server(mode: str, *, slow_s: float = 6.0) -> Iterator[int]:
    """A listener misbehaving per ``mode`` on a free loopback port; yields the port, stops it on exit."""
    server = _FaultServer(mode, slow_s)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()


def refusing_port() -> int:
    """A free port with nothing listening (connections are refused)."""
    return free_port()
