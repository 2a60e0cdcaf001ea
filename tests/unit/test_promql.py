"""PromQL building: escaping, selectors, durations, query packs; and the pure alert/rule parsers."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from irlib.frames import check
from irlib.incident import parse_incident
from irlib.promql import (
    PACKS, escape_label_value, format_duration, matcher, pack_queries, parse_duration, selector, service_labels,
)
from irlib.sources.prometheus import (
    ALERTS_SCHEMA, RULES_SCHEMA, alert_intervals, choose_step, parse_api_alerts, parse_rules,
)
from irlib.sources.prometheus_frames import parse_matrix_result

NOW = pd.Timestamp("2024-05-01T12:00:00Z")


def _incident(extra: str = "", service: str = "  name: checkout\n  namespace: shop\n"):
    text = ("incident: {id: INC-1, title: t, declared_at: '2024-05-01T11:00:00Z'}\n"
            "window: {start: '2024-05-01T10:00:00Z', end: '2024-05-01T12:00:00Z'}\n"
            f"service:\n{service}"
            "sources:\n  prometheus:\n    url: http://127.0.0.1:1\n" + extra)
    return parse_incident(text, path=Path("/tmp/inc.yaml"), now=NOW)


@pytest.mark.parametrize("value", ['plain', 'a"b', 'back\\slash', 'new\nline', '"}) or vector(1) #'])
def test_escaped_values_stay_inside_their_quotes(value: str) -> None:
    escaped = escape_label_value(value)
    decoded = escaped.encode().decode("unicode_escape")  # PromQL strings use Go/C escapes
    assert decoded == value
    assert '"' not in escaped.replace('\\"', "")


def test_matcher_and_selector_refuse_bad_names() -> None:
    assert selector("up", [matcher("job", "=", 'a"b')]) == 'up{job="a\\"b"}'
    with pytest.raises(ValueError):
        matcher("bad-name", "=", "x")
    with pytest.raises(ValueError):
        matcher("job", "==", "x")
    with pytest.raises(ValueError):
        selector("up{}", [])


def test_durations() -> None:
    assert parse_duration("15s") == 15 and parse_duration("1h30m") == 5400 and parse_duration("500ms") == 0.5
    assert parse_duration(30) == 30 and parse_duration("2.5") == 2.5
    assert format_duration(15) == "15s" and format_duration(5400) == "1h30m" and format_duration(0.25) == "250ms"
    for bad in ("15 seconds", "-1s", "0", "1x"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_choose_step_keeps_windows_small_and_never_below_15s() -> None:
    start = pd.Timestamp("2024-05-01T10:00:00Z")
    assert choose_step(start, start + pd.Timedelta(hours=1)) == 15
    assert choose_step(start, start + pd.Timedelta(days=7)) == 600
    for span in (pd.Timedelta(minutes=5), pd.Timedelta(hours=7), pd.Timedelta(days=3), pd.Timedelta(days=90)):
        step = choose_step(start, start + span)
        assert step >= 15 and span.total_seconds() / step <= 2000


def test_pack_queries_cover_both_packs_and_escape_the_service() -> None:
    queries = pack_queries(_incident(service='  name: check"out\n  namespace: sh\\op\n'))
    for name in PACKS["red"] + PACKS["use"]:
        assert name in queries
    assert 'namespace="sh\\\\op"' in queries["request_rate"]
    assert 'pod=~"(?:check\\"out)-.+"' in queries["request_rate"]
    assert queries["error_ratio"].startswith('(sum(rate(http_requests_total{namespace="sh\\\\op"')
    assert queries["error_ratio"].count("or vector(0)") == 1
    assert 'code=~"5.."' in queries["error_ratio"]
    assert "histogram_quantile(0.99," in queries["latency_p99"]
    assert 'resource="memory"' in queries["memory_limit"] and 'reason="OOMKilled"' in queries["oom_kills"]
    assert 'container!="POD"' in queries["cpu_usage"]


def test_pack_labels_and_overrides_come_from_the_parameters() -> None:
    extra = ("    labels: {service: app, code: status}\n"
             "    queries: {request_rate: 'sum(rate(my_requests[1m]))', saturation: 'max(queue_depth)'}\n")
    queries = pack_queries(_incident(extra, service="  name: api\n  namespace: prod\n  containers: [web]\n"))
    assert queries["request_rate"] == "sum(rate(my_requests[1m]))"
    assert queries["saturation"] == "max(queue_depth)"
    assert 'app="api"' in queries["error_ratio"] and 'status=~"5.."' in queries["error_ratio"]
    assert 'container=~"web"' in queries["cpu_usage"]
    with pytest.raises(ValueError, match="unknown role"):
        service_labels({"nonsense": "x"})


def test_alert_intervals_split_on_gaps_and_mark_still_firing() -> None:
    base = 1_714_557_600  # 2024-05-01T10:00:00Z
    result = [
        {"metric": {"__name__": "ALERTS", "alertname": "HighErrors", "alertstate": "firing", "severity": "page"},
         "values": [[base + 15 * i, "1"] for i in (0, 1, 2, 10, 11)]},
        {"metric": {"__name__": "ALERTS", "alertname": "Down", "alertstate": "firing"},
         "values": [[base + 15 * i, "1"] for i in (3, 4)]},
    ]
    frame = alert_intervals(parse_matrix_result(result), 15_000, (base + 15 * 11) * 1000)
    check(frame, ALERTS_SCHEMA)
    high = frame[frame["alertname"] == "HighErrors"].reset_index(drop=True)
    assert len(high) == 2 and high["severity"][0] == "page"
    assert high["ends_at"][0] == pd.Timestamp(base + 30, unit="s", tz="UTC")
    assert pd.isna(high["ends_at"][1])  # still firing at the last evaluation
    down = frame[frame["alertname"] == "Down"].iloc[0]
    assert down["ends_at"] == pd.Timestamp(base + 60, unit="s", tz="UTC") and pd.isna(down["severity"])


def test_api_alerts_and_rules_parse_the_documented_shapes() -> None:
    alerts = parse_api_alerts({"alerts": [{
        "labels": {"alertname": "HighErrors", "severity": "page"}, "annotations": {"summary": "5xx"},
        "state": "firing", "activeAt": "2024-05-01T10:03:00.123Z", "value": "1e+00"}]})
    check(alerts, ALERTS_SCHEMA)
    assert alerts["source"][0] == "api" and alerts["starts_at"][0] == pd.Timestamp("2024-05-01T10:03:00.123Z")
    rules = parse_rules({"groups": [{"name": "g", "rules": [
        {"type": "alerting", "name": "HighErrors", "query": "x > 1", "duration": 300, "labels": {"severity": "page"},
         "annotations": {}, "health": "ok", "state": "firing", "lastError": ""},
        {"type": "recording", "name": "job:x:rate5m", "query": "rate(x[5m])", "health": "err",
         "lastError": "boom"}]}]})
    check(rules, RULES_SCHEMA)
    assert rules["duration_s"].tolist() == [300.0, 0.0] and rules["last_error"][1] == "boom"
    assert parse_rules({}).empty and parse_api_alerts(None).empty
