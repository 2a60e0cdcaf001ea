"""The Prometheus source against a real Prometheus started on loopback with backfilled history.

History (written as OpenMetrics, turned into blocks by promtool before the server starts, ending before the
head): an incident two hours ago (error surge, slower latency histogram, memory working set climbing to its limit,
restarts, an ALERTS series), special values (NaN, ±Inf), and 3.5 days of one counter for the long-window case.
"""
from __future__ import annotations

import http.server
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from irlib.errors import QueryError, SourceUnavailable
from irlib.frames import check
from irlib.incident import parse_incident
from irlib.investigation import Investigation
from irlib.servers import ServerProcess, free_port
from irlib.servers.prometheus import Series, start_prometheus, write_openmetrics
from irlib.sources.prometheus import ALERTS_SCHEMA, RULES_SCHEMA, SERIES_SCHEMA, PrometheusSource
from irlib.sources.prometheus_frames import matrix_frame, parse_matrix_body, plan_chunks, series_id, to_ms
from tests.conftest import serving

NOW = pd.Timestamp.now(tz="UTC").floor("min")
ONSET = NOW - pd.Timedelta(hours=2)
RECOVERY = NOW - pd.Timedelta(hours=1)
HISTORY_END = NOW - pd.Timedelta(minutes=2)
POD = {"namespace": "shop", "pod": "checkout-7d9f8-x2x9q"}
RULES = """groups:
- name: irlib-test
  rules:
  - record: job:long_counter:rate5m
    expr: rate(long_counter_total[5m])
  - alert: AlwaysFiring
    expr: vector(1) > 0
    labels: {severity: ticket}
    annotations: {summary: always}
"""


def _times(start: pd.Timestamp, end: pd.Timestamp, step_s: float = 15.0) -> np.ndarray:
    return np.arange(start.value / 1e9, end.value / 1e9, step_s)


def _incident_series() -> list[Series]:
    t = _times(NOW - pd.Timedelta(hours=4), HISTORY_END)
    during = (t >= ONSET.value / 1e9) & (t < RECOVERY.value / 1e9)
    ok = np.cumsum(np.full(t.size, 150.0))
    errors = np.cumsum(np.where(during, 75.0, 1.5))
    out = [Series("http_requests_total", {**POD, "code": "200"}, t, ok, kind="counter"),
           Series("http_requests_total", {**POD, "code": "500"}, t, errors, kind="counter")]
    fast, slow = np.where(during, 0.1, 0.9), np.where(during, 0.05, 0.8)
    for le, share in (("0.1", fast * slow), ("0.5", fast), ("2.5", np.where(during, 0.6, 0.99)), ("+Inf", 1.0)):
        counts = np.cumsum(np.broadcast_to(share, t.shape) * 151.5)
        out.append(Series("http_request_duration_seconds_bucket", {**POD, "le": le}, t, counts))
    limit = 512 * 2**20
    memory = np.clip(200 * 2**20 + np.maximum(t - ONSET.value / 1e9, 0) * 2**20 / 10, 0, limit * 0.99)
    out += [Series("container_memory_working_set_bytes", {**POD, "container": "app"}, t, memory),
            Series("kube_pod_container_resource_limits", {**POD, "container": "app", "resource": "memory",
                                                          "unit": "byte"}, t, np.full(t.size, float(limit))),
            Series("kube_pod_container_status_restarts_total", {**POD, "container": "app"}, t,
                   np.floor(np.maximum(t - ONSET.value / 1e9, 0) / 900), kind="counter")]
    firing = t[(t >= (ONSET + pd.Timedelta(minutes=5)).value / 1e9) & (t < RECOVERY.value / 1e9)]
    out.append(Series("ALERTS", {"alertname": "HighErrorRate", "alertstate": "firing", "severity": "page",
                                 "namespace": "shop"}, firing, np.ones(firing.size)))
    special = np.array([1.0, np.nan, np.inf, -np.inf, 2.0])
    out.append(Series("irlib_special", {"job": "x"}, t[:5], special))
    return out


EXPOSITIONS = Path(__file__).resolve().parent.parent / "fixtures" / "prometheus" / "exposition"
EXPOSED_AT = NOW - pd.Timedelta(hours=3)
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)')


def _stamped_exposition(name: str) -> str:
    """A real OpenMetrics exposition with every sample stamped at EXPOSED_AT (exemplars dropped)."""
    lines = []
    for line in (EXPOSITIONS / name).read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            lines.append(line)
        elif line:
            lines.append(f"{line.split(' # ')[0]} {EXPOSED_AT.value / 1e9:.3f}")
    return "\n".join(lines) + "\n"


def _exposed_samples(name: str, metric: str) -> dict[str, float]:
    """series id -> value of ``metric``'s samples, read from the exposition text independently of irlib."""
    out = {}
    for line in (EXPOSITIONS / name).read_text(encoding="utf-8").splitlines():
        match = _SAMPLE.match(line)
        if match and match.group(1) == metric:
            labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
            out[series_id({"__name__": metric, **labels})] = float(match.group(3))
    return out


def _long_series() -> list[Series]:
    t = _times(NOW - pd.Timedelta(hours=84), HISTORY_END)
    return [Series("long_counter_total", {"job": "long"}, t, np.arange(t.size, dtype=float), kind="counter")]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    work = tmp_path_factory.mktemp("prometheus")
    write_openmetrics(work / "incident.om", _incident_series())
    write_openmetrics(work / "long.om", _long_series())
    (work / "rules.yml").write_text(RULES, encoding="utf-8")
    (work / "exposition.om").write_text(_stamped_exposition("prometheus_1histogram.om.txt"), encoding="utf-8")
    history = [work / "incident.om", work / "long.om", work / "exposition.om"]
    with serving(lambda: start_prometheus(work / "server", history=history, rule_files=[work / "rules.yml"],
                                          evaluation_interval="1s")) as server:
        yield server


def _yaml(url: str, extra: str = "") -> str:
    return ("incident: {id: INC-7, title: checkout errors, declared_at: '%s'}\n"
            "window: {start: '%s', end: '%s'}\n"
            "service: {name: checkout, namespace: shop}\n"
            "sources:\n  prometheus:\n    url: %s\n    retries: 1\n    timeout_s: 10\n%s"
            % (ONSET.isoformat(), (ONSET - pd.Timedelta(minutes=30)).isoformat(), RECOVERY.isoformat(), url, extra))


def _source(url: str, extra: str = "") -> PrometheusSource:
    return PrometheusSource(parse_incident(_yaml(url, extra), path=Path("/tmp/inc.yaml"), now=NOW))


def test_three_day_rate_window_equals_its_pieces_fetched_one_by_one(prometheus: ServerProcess) -> None:
    source = _source(prometheus.url)
    start, end = HISTORY_END - pd.Timedelta(days=3), HISTORY_END - pd.Timedelta(minutes=1)
    fetched = source.range_query(query="rate(long_counter_total[5m])", start=start, end=end, step="15s")
    plan = plan_chunks(start, end, 15)
    assert len(plan) == 2 and f"step 15s, {len(plan)} requests]" in fetched.query
    pieces = []
    for s, e in plan:  # each piece as one unchunked request
        body = source.http.get_bytes("/api/v1/query_range", {"query": "rate(long_counter_total[5m])",
                                     "start": str(to_ms(s) / 1000), "end": str(to_ms(e) / 1000), "step": "15"},
                                     query="piece")
        pieces.append(matrix_frame(parse_matrix_body(body)[0]))  # type: ignore[index]
    expected = pd.concat(pieces, ignore_index=True)
    pd.testing.assert_frame_equal(fetched.frame, expected)
    frame = fetched.frame
    check(frame, SERIES_SCHEMA)
    assert not frame["timestamp"].duplicated().any()
    grid = pd.date_range(start, end, freq="15s")
    assert len(frame) == len(grid) and (frame["timestamp"].to_numpy() == grid.to_numpy()).all()
    np.testing.assert_allclose(frame["value"].to_numpy(), 1 / 15)


def test_naive_and_aware_windows_give_identical_answers(prometheus: ServerProcess) -> None:
    source = _source(prometheus.url)
    aware_start = ONSET.tz_convert("Europe/Berlin")
    aware = source.range_query(query="http_requests_total", start=aware_start, end=aware_start + pd.Timedelta(hours=1))
    naive = source.range_query(query="http_requests_total", start=ONSET.tz_localize(None),
                               end=(ONSET + pd.Timedelta(hours=1)).tz_localize(None))
    assert aware.query == naive.query
    pd.testing.assert_frame_equal(aware.frame, naive.frame)
    assert len(aware.frame) == 2 * 241


def test_empty_result_and_special_values(prometheus: ServerProcess) -> None:
    source = _source(prometheus.url)
    empty = source.range_query(query="no_such_metric", start=ONSET, end=RECOVERY)
    assert empty.frame.empty
    check(empty.frame, SERIES_SCHEMA)
    special = source.range_query(query="irlib_special", start=NOW - pd.Timedelta(hours=4),
                                 end=NOW - pd.Timedelta(hours=4) + pd.Timedelta(minutes=1), step="15s")
    values = special.frame["value"].to_numpy()
    assert values[0] == 1.0 and np.isnan(values[1]) and values[2] == np.inf and values[3] == -np.inf
    instant = source.instant_query(query="irlib_special", at=NOW - pd.Timedelta(hours=4) + pd.Timedelta(seconds=30))
    assert instant.frame["value"].tolist() == [np.inf]


def test_real_exposition_round_trips_through_the_server(prometheus: ServerProcess) -> None:
    metric = "golang_manual_histogram_seconds_bucket"
    expected = _exposed_samples("prometheus_1histogram.om.txt", metric)
    assert len(expected) > 30 and any('le="+Inf"' in k for k in expected)
    got = _source(prometheus.url).instant_query(query=metric, at=EXPOSED_AT + pd.Timedelta(seconds=1)).frame
    assert dict(zip(got["series"], got["value"])) == expected
    assert (got["timestamp"] == EXPOSED_AT + pd.Timedelta(seconds=1)).all()


def test_syntax_error_carries_prometheus_message(prometheus: ServerProcess) -> None:
    source = _source(prometheus.url)
    with pytest.raises(QueryError) as caught:
        source.range_query(query="rate(http_requests_total[5m]", start=ONSET, end=RECOVERY)
    assert "parse error" in caught.value.message and "bad_data" in caught.value.message


def test_investigation_records_rejected_and_unavailable_and_goes_on(prometheus: ServerProcess,
                                                                    tmp_path: Path) -> None:
    down = parse_incident(_yaml(f"http://127.0.0.1:{free_port()}"), path=Path("/tmp/inc.yaml"), now=NOW)
    inv = Investigation(down, tmp_path / "down", now=NOW)
    frame = inv.prometheus.range_query(query="up", start=ONSET, end=RECOVERY)
    assert frame.empty and list(frame.columns) == list(SERIES_SCHEMA)
    record = inv.evidence().iloc[0]
    assert record["status"] == "unavailable" and "cannot reach" in record["reason"]
    live = Investigation(parse_incident(_yaml(prometheus.url), path=Path("/tmp/inc.yaml"), now=NOW),
                         tmp_path / "live", now=NOW)
    assert live.prometheus.range_query(query="bad(", start=ONSET, end=RECOVERY).empty
    ok = live.prometheus.signal(name="error_ratio", start=ONSET - pd.Timedelta(minutes=30), end=RECOVERY)
    statuses = live.evidence().set_index("method")["status"].to_dict()
    assert statuses == {"range_query": "rejected", "signal": "ok"}
    assert list(ok.columns[:5]) == ["signal", "timestamp", "series", "labels", "value"]


def test_signals_show_the_incident(prometheus: ServerProcess) -> None:
    source = _source(prometheus.url)
    before, after = ONSET - pd.Timedelta(minutes=20), ONSET + pd.Timedelta(minutes=20)

    def at(name: str, when: pd.Timestamp) -> float:
        frame = source.signal(name=name, start=when, end=when + pd.Timedelta(minutes=1)).frame
        assert (frame["signal"] == name).all()
        return float(frame["value"].iloc[0])

    assert at("error_ratio", before) == pytest.approx(0.01, rel=0.05)
    assert at("error_ratio", after) == pytest.approx(5 / 15, rel=0.05)
    assert at("request_rate", before) == pytest.approx(10.1, rel=0.05)
    assert at("latency_p99", after) > at("latency_p99", before)
    assert at("memory_working_set", after) > at("memory_working_set", before)
    late = RECOVERY - pd.Timedelta(minutes=5)
    assert at("memory_working_set", late) / at("memory_limit", late) > 0.9
    assert at("restarts", late) > at("restarts", before)


def test_alerts_and_rules(prometheus: ServerProcess) -> None:
    source = _source(prometheus.url)
    fetched = source.alerts(start=ONSET - pd.Timedelta(minutes=30), end=NOW - pd.Timedelta(minutes=30))
    frame = fetched.frame
    check(frame, ALERTS_SCHEMA)
    history = frame[frame["source"] == "ALERTS"].reset_index(drop=True)
    assert history["alertname"].tolist() == ["HighErrorRate"] and history["severity"][0] == "page"
    assert abs(history["starts_at"][0] - (ONSET + pd.Timedelta(minutes=5))) <= pd.Timedelta(seconds=60)
    assert abs(history["ends_at"][0] - RECOVERY) <= pd.Timedelta(minutes=6)  # lookback keeps it a little longer
    rules = source.rules().frame
    check(rules, RULES_SCHEMA)
    assert set(rules["name"]) == {"job:long_counter:rate5m", "AlwaysFiring"}
    assert set(rules["type"]) == {"recording", "alerting"}


class _TokenProxy(http.server.BaseHTTPRequestHandler):
    """Forwards GETs to the real Prometheus only when ``Authorization: Bearer <token>`` is right."""

    upstream = ""
    token = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            self._send(401, b'{"status":"error","errorType":"unauthorized","error":"bad token"}')
            return
        try:
            with urllib.request.urlopen(self.upstream + self.path, timeout=10) as answer:
                self._send(answer.status, answer.read())
        except urllib.error.HTTPError as exc:
            self._send(exc.code, exc.read())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


def test_bearer_token_is_read_from_the_environment(prometheus: ServerProcess,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    handler = type("Proxy", (_TokenProxy,), {"upstream": prometheus.url, "token": "s3cret-t0ken"})
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{proxy.server_address[1]}"
        source = _source(url, "    token_env: IRLIB_TEST_PROM_TOKEN\n")
        monkeypatch.setenv("IRLIB_TEST_PROM_TOKEN", "s3cret-t0ken")
        got = source.range_query(query="http_requests_total", start=ONSET, end=ONSET + pd.Timedelta(minutes=5))
        assert len(got.frame) == 2 * 21 and "s3cret" not in json.dumps(vars(source.http), default=str)
        monkeypatch.setenv("IRLIB_TEST_PROM_TOKEN", "wrong")
        with pytest.raises(SourceUnavailable, match="HTTP 401"):
            source.range_query(query="up", start=ONSET, end=RECOVERY)
        monkeypatch.delenv("IRLIB_TEST_PROM_TOKEN")
        with pytest.raises(SourceUnavailable, match="IRLIB_TEST_PROM_TOKEN"):
            source.range_query(query="up", start=ONSET, end=RECOVERY)
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=5)
