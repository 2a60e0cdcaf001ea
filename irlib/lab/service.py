"""The lab service ``orders``: a small real HTTP service reading and writing PostgreSQL.

Run as ``python -m irlib.lab.service`` by the lab kubelet, configured by environment variables:
``LAB_PORT``, ``LAB_DSN`` (libpq URL), ``LAB_VERSION``, ``LAB_FEATURES`` (comma list: ``unbounded-cache``,
``checkout-currency``), ``LAB_POOL_SIZE`` (default 4), ``LAB_STATEMENT_TIMEOUT_MS`` (default 3000), ``LAB_POOL_WAIT_S`` (default 1.0).

Endpoints: ``GET /healthz``, ``GET /metrics``, ``GET /api/products/{id}``, ``GET /api/orders``,
``POST /api/orders``, ``POST /api/checkout``, ``GET /api/search?q=``.  Logs are JSON lines on stdout
(``time``, ``level``, ``logger``, ``message``, and on errors ``exc_type`` and ``exc_info``, the Python stack trace).
"""
from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg2
import psycopg2.pool

from .metrics import Counter, process_metrics, render

ROUTES: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("GET", "/api/products/{id}", re.compile(r"^/api/products/(\d+)$")),
    ("GET", "/api/orders", re.compile(r"^/api/orders$")),
    ("POST", "/api/orders", re.compile(r"^/api/orders$")),
    ("POST", "/api/checkout", re.compile(r"^/api/checkout$")),
    ("GET", "/api/search", re.compile(r"^/api/search$")),
    ("GET", "/healthz", re.compile(r"^/healthz$")),
)


class PoolTimeout(Exception):
    """No database connection became free in time (the pool is exhausted)."""


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


def log(level: str, message: str, **fields: Any) -> None:
    """One JSON log line on stdout (the container log)."""
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() % 1 * 1000):03d}Z",
              "level": level, "logger": "orders", "message": message, **fields}
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()


class Database:
    """A bounded connection pool: waiting for a free connection longer than ``wait_s`` raises :class:`PoolTimeout`."""

    def __init__(self, dsn: str, size: int, statement_timeout_ms: int, wait_s: float = 2.0) -> None:
        self.pool = psycopg2.pool.ThreadedConnectionPool(
            0, size, dsn, connect_timeout=3, options=f"-c statement_timeout={statement_timeout_ms}",
            application_name="orders")
        self.free = threading.BoundedSemaphore(size)
        self.size, self.wait_s = size, wait_s
        self.in_use = 0

    def query(self, sql: str, params: tuple[Any, ...] = (), *, write: bool = False) -> list[tuple[Any, ...]]:
        if not self.free.acquire(timeout=self.wait_s):
            raise PoolTimeout(f"connection pool exhausted: all {self.size} connections busy for {self.wait_s:.0f}s")
        self.in_use += 1
        conn = None
        try:
            conn = self.pool.getconn()
            with conn.cursor() as cur:
                cur.execute(sql, params)
                rows = cur.fetchall() if cur.description else []
            conn.commit()
            return rows
        except psycopg2.Error:
            if conn is not None:
                self.pool.putconn(conn, close=True)
                conn = None
            raise
        finally:
            if conn is not None:
                self.pool.putconn(conn)
            self.in_use -= 1
            self.free.release()


class Orders:
    """The application: handlers for each route, the (optionally unbounded) cache, the metrics."""

    def __init__(self, db: Database, version: str, features: set[str]) -> None:
        self.db, self.version, self.features = db, version, features
        self.cache: dict[tuple[str, str], bytes] = {}
        self.cache_entries = Counter("orders_cache_entries", "Entries in the recommendations cache", kind="gauge")
        self.pool_in_use = Counter("orders_db_pool_connections_in_use", "Pool connections in use", kind="gauge")
        self.db_errors = Counter("orders_db_errors_total", "Database errors by class", ("error",))
        self.info = Counter("orders_build_info", "Build information", ("version",), kind="gauge")
        self.info.set(version, value=1)

    def product(self, product_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
        rows = self.db.query("SELECT id, name, price_cents FROM products WHERE id = %s", (int(product_id),))
        if not rows:
            raise HttpError(404, f"product {product_id} not found")
        body = {"id": rows[0][0], "name": rows[0][1], "price_cents": rows[0][2]}
        if "unbounded-cache" in self.features:
            session = query.get("session", [""])[0]
            key = (product_id, session)
            if key not in self.cache:  # v2: recommendations cached per (product, session), never evicted
                self.cache[key] = os.urandom(16) * 16384
            body["recommendations_bytes"] = len(self.cache[key])
        return body

    def list_orders(self) -> dict[str, Any]:
        rows = self.db.query("SELECT id, product_id, quantity FROM orders ORDER BY id DESC LIMIT 20")
        return {"orders": [{"id": r[0], "product_id": r[1], "quantity": r[2]} for r in rows]}

    def create_order(self, payload: dict[str, Any]) -> dict[str, Any]:
        rows = self.db.query("INSERT INTO orders (product_id, quantity) VALUES (%s, %s) RETURNING id",
                             (int(payload.get("product_id", 1)), int(payload.get("quantity", 1))), write=True)
        return {"id": rows[0][0]}

    def checkout(self, payload: dict[str, Any]) -> dict[str, Any]:
        cart = payload.get("cart") or [{"product_id": 1, "quantity": 1}]
        total = sum(price_in_currency(item, self.features) for item in cart)
        return {"total": total}

    def search(self, query: dict[str, list[str]]) -> dict[str, Any]:
        term = query.get("q", ["x"])[0]
        rows = self.db.query("SELECT count(*) FROM audit_events WHERE note LIKE %s", (f"%{term}%",))
        return {"matches": rows[0][0]}

    def health(self) -> dict[str, Any]:
        self.db.query("SELECT 1")
        return {"ok": True, "version": self.version}

    def metrics(self) -> bytes:
        self.cache_entries.set(value=len(self.cache))
        self.pool_in_use.set(value=self.db.in_use)
        return render([self.cache_entries, self.pool_in_use, self.db_errors, self.info], process_metrics)


def price_in_currency(item: dict[str, Any], features: set[str]) -> int:
    """The price of a cart line; the v3 release reads a currency the old carts do not carry."""
    quantity = int(item.get("quantity", 1))
    if "checkout-currency" in features:
        rate = {"EUR": 1.0, "USD": 1.1}[item["currency"]]
        return int(quantity * 1000 * rate)
    return quantity * 1000


class QuietHandler(BaseHTTPRequestHandler):
    """The lab's HTTP handlers: one way to answer, and no access log on stderr (the logs are JSON on stdout)."""

    def _send(self, status: int, data: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


def make_handler(app: Orders) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            self._dispatch("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._dispatch("POST")

        def _dispatch(self, method: str) -> None:
            url = urlsplit(self.path)
            if method == "GET" and url.path == "/metrics":
                return self._send(200, app.metrics(), "text/plain; version=0.0.4")
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length) or b"{}") if length else {}
            route, match = _route(method, url.path)
            start = time.monotonic()
            try:
                if route is None:
                    raise HttpError(404, f"no route for {method} {url.path}")
                body = _call(app, method, route, match, parse_qs(url.query), payload)
                status = 200
            except HttpError as exc:
                status, body = exc.status, {"error": str(exc)}
            except Exception as exc:  # every failure is logged with its stack trace and answered 500/503
                status = 503 if route == "/healthz" else 500
                body = {"error": type(exc).__name__}
                if isinstance(exc, psycopg2.Error):
                    app.db_errors.inc(type(exc).__name__)
                log("ERROR", f"request failed: {type(exc).__name__}: {str(exc).strip()}", method=method,
                    path=route or url.path, status=status, exc_type=type(exc).__name__,
                    exc_info=traceback.format_exc(), duration_ms=round((time.monotonic() - start) * 1000, 1))
            self._send(status, json.dumps(body).encode(), "application/json")


    return Handler


def _route(method: str, path: str) -> tuple[str | None, re.Match[str] | None]:
    for verb, name, pattern in ROUTES:
        match = pattern.match(path)
        if verb == method and match:
            return name, match
    return None, None


def _call(app: Orders, method: str, route: str, match: re.Match[str] | None, query: dict[str, list[str]],
          payload: dict[str, Any]) -> dict[str, Any]:
    if route == "/api/products/{id}":
        return app.product(match.group(1) if match else "0", query)
    if route == "/api/orders":
        return app.create_order(payload) if method == "POST" else app.list_orders()
    if route == "/api/checkout":
        return app.checkout(payload)
    if route == "/api/search":
        return app.search(query)
    return app.health()


def main() -> int:
    env = os.environ
    features = {f.strip() for f in env.get("LAB_FEATURES", "").split(",") if f.strip()}
    db = Database(env["LAB_DSN"], int(env.get("LAB_POOL_SIZE", "4")), int(env.get("LAB_STATEMENT_TIMEOUT_MS", "3000")), float(env.get("LAB_POOL_WAIT_S", "1.0")))
    app = Orders(db, env.get("LAB_VERSION", "v1"), features)
    server = ThreadingHTTPServer(("127.0.0.1", int(env["LAB_PORT"])), make_handler(app))
    server.daemon_threads = True
    log("INFO", f"orders {app.version} listening on 127.0.0.1:{env['LAB_PORT']}", features=sorted(features))
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
