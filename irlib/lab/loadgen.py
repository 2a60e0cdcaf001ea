"""The load generator: steady client traffic against the service's current pod (like users through an ingress)."""
from __future__ import annotations

import http.client
import itertools
import json
import random
import threading
import time
from collections.abc import Callable

# (weight, method, path template); {n} is a product id, {s} a session id
MIX: tuple[tuple[int, str, str], ...] = (
    (5, "GET", "/api/products/{n}?session={s}"), (3, "GET", "/api/orders"), (2, "POST", "/api/orders"),
    (2, "POST", "/api/checkout"), (1, "GET", "/api/search?q=refund"),
)


class LoadGenerator:
    """``rate`` requests per second from ``workers`` threads to the port ``target()`` names at each request."""

    def __init__(self, target: Callable[[], int | None], rate: float = 12.0, workers: int = 6,
                 seed: int = 7) -> None:
        self.target, self.rate, self.workers = target, rate, workers
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._random = random.Random(seed)
        self._sessions = itertools.count(1)
        self.sent = 0
        self.failed = 0

    def start(self) -> None:
        for i in range(self.workers):
            thread = threading.Thread(target=self._loop, name=f"load-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(6)

    def _pick(self) -> tuple[str, str, bytes | None]:
        weights = [w for w, _, _ in MIX]
        _, method, template = self._random.choices(MIX, weights)[0]
        path = template.format(n=self._random.randint(1, 50), s=next(self._sessions))
        body = None
        if path == "/api/orders" and method == "POST":
            body = json.dumps({"product_id": self._random.randint(1, 50), "quantity": 1}).encode()
        elif path == "/api/checkout":
            body = json.dumps({"cart": [{"product_id": 3, "quantity": 2}]}).encode()
        return method, path, body

    def _loop(self) -> None:
        interval = self.workers / self.rate
        while not self._stop.wait(interval * (0.5 + self._random.random())):
            port = self.target()
            if port is None:
                continue
            method, path, body = self._pick()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=8)
                conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
                status = conn.getresponse().status
                conn.close()
                self.sent += 1
                self.failed += status >= 500
            except OSError:
                self.failed += 1
                time.sleep(0.2)
