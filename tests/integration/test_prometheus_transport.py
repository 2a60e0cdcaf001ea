"""Transport failures (retried 5xx, malformed body, slow answer) and the launcher's scrape mode (used by the lab).

A real Prometheus scrapes itself; a small proxy in front of it injects the failures a healthy server never makes.
"""
from __future__ import annotations

import http.server
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from irlib.errors import SourceUnavailable
from irlib.incident import parse_incident
from irlib.servers import ServerProcess
from irlib.servers.prometheus import start_prometheus
from irlib.sources.prometheus import PrometheusSource
from tests.conftest import serving

NOW = pd.Timestamp.now(tz="UTC")


@pytest.fixture(scope="module")
def scraping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    work = tmp_path_factory.mktemp("prometheus-scrape")
    from irlib.servers import free_port

    port = free_port()
    with serving(lambda: start_prometheus(work, port=port, scrape_interval="1s", scrape_configs=[
            {"job_name": "self", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}])) as server:
        yield server


class _Faulty(http.server.BaseHTTPRequestHandler):
    """Answers 503 for the first ``failures`` requests, then forwards to the real server (or misbehaves)."""

    upstream = ""
    mode = "flaky"
    failures = 0
    seen: list[str] = []
    headers_seen: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self.seen.append(self.path)
        self.headers_seen.append(dict(self.headers))
        if self.mode == "malformed":
            self._send(200, b"<html>proxy login page</html>")
        elif self.mode == "slow":
            time.sleep(3)
            self._send(200, b"{}")
        elif len(self.seen) <= self.failures:
            self._send(503, b"upstream overloaded")
        else:
            with urllib.request.urlopen(self.upstream + self.path, timeout=10) as answer:
                self._send(answer.status, answer.read())

    def _send(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (the timeout case)
            return

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture()
def proxy(scraping: ServerProcess) -> Iterator[type[_Faulty]]:
    handler = type("Faulty", (_Faulty,), {"upstream": scraping.url, "seen": [], "headers_seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _source(url: str, retries: int = 2, timeout_s: float = 10, extra: str = "") -> PrometheusSource:
    text = ("incident: {id: T, title: t, declared_at: '%s'}\nwindow: {start: '%s', end: '%s'}\n"
            "service: {name: s}\nsources:\n  prometheus: {url: '%s', retries: %d, timeout_s: %s%s}\n"
            % (NOW.isoformat(), (NOW - pd.Timedelta(hours=1)).isoformat(), NOW.isoformat(), url, retries, timeout_s,
               extra))
    return PrometheusSource(parse_incident(text, path=Path("/tmp/t.yaml"), now=NOW))


def _wait_for_self_scrape(source: PrometheusSource) -> pd.DataFrame:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        frame = source.instant_query(query='up{job="self"}', at=pd.Timestamp.now(tz="UTC")).frame
        if len(frame):
            return frame
        time.sleep(0.5)
    raise AssertionError("prometheus did not scrape itself within 20 s")


def test_launcher_scrapes_the_configured_targets(scraping: ServerProcess) -> None:
    frame = _wait_for_self_scrape(_source(scraping.url))
    assert frame["value"].tolist() == [1.0]
    assert '"job":"self"' in frame["labels"][0]


def test_5xx_is_retried_then_answered(proxy: type[_Faulty], scraping: ServerProcess) -> None:
    _wait_for_self_scrape(_source(scraping.url))
    proxy.failures = 2
    frame = _source(proxy.url, retries=2).instant_query(  # type: ignore[attr-defined]
        query='up{job="self"}', at=pd.Timestamp.now(tz="UTC")).frame
    assert len(proxy.seen) == 3 and frame["value"].tolist() == [1.0]


def test_5xx_after_the_retries_is_unavailable(proxy: type[_Faulty]) -> None:
    proxy.failures = 10
    with pytest.raises(SourceUnavailable, match="HTTP 503 .* after 1 retries: upstream overloaded"):
        _source(proxy.url, retries=1).instant_query(query="up", at=NOW)  # type: ignore[attr-defined]
    assert len(proxy.seen) == 2


def test_malformed_and_slow_answers_are_unavailable(proxy: type[_Faulty]) -> None:
    proxy.mode = "malformed"
    with pytest.raises(SourceUnavailable, match="not JSON"):
        _source(proxy.url).instant_query(query="up", at=NOW)  # type: ignore[attr-defined]
    with pytest.raises(SourceUnavailable, match="malformed /api/v1/query_range"):
        _source(proxy.url).range_query(query="up", start=NOW - pd.Timedelta(minutes=5), end=NOW)  # type: ignore[attr-defined]
    proxy.mode = "slow"
    began = time.monotonic()
    with pytest.raises(SourceUnavailable, match="within 1 s"):
        _source(proxy.url, timeout_s=1).instant_query(query="up", at=NOW)  # type: ignore[attr-defined]
    assert time.monotonic() - began < 2.9


def test_secret_headers_come_from_the_environment_at_request_time(proxy: type[_Faulty],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRLIB_TEST_PROM_KEY", "k-123-secret")
    extra = ", headers: {X-Scope-OrgID: shop}, headers_env: {X-Api-Key: IRLIB_TEST_PROM_KEY}"
    source = _source(proxy.url, extra=extra)  # type: ignore[attr-defined]
    _wait_for_self_scrape(source)
    sent = proxy.headers_seen[-1]
    assert sent.get("X-Api-Key") == "k-123-secret" and sent.get("X-Scope-OrgID") == "shop"
