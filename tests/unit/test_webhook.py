"""The Alertmanager webhook: parsing, declaring, dedupe of repeats, resolved notifications, rejects."""
from __future__ import annotations

import copy
import http.client
import json
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from irlib.incident import parse_incident
from irlib.alertmanager import PayloadError, parse_alertmanager_payload
from irlib.webhook import Receiver, declare_incident, incident_id_of, make_server

NOW = pd.Timestamp("2026-03-01T10:07:00Z")
# The shape Alertmanager 0.25 sends (webhook format version 4), as documented in its configuration reference.
PAYLOAD: dict[str, Any] = {
    "version": "4", "groupKey": "{}:{alertname=\"HighErrorRate\"}", "truncatedAlerts": 0, "status": "firing",
    "receiver": "irlib", "groupLabels": {"alertname": "HighErrorRate"},
    "commonLabels": {"alertname": "HighErrorRate", "service": "orders", "namespace": "shop", "severity": "page"},
    "commonAnnotations": {"summary": "orders 5xx ratio above 5%"}, "externalURL": "http://127.0.0.1:9093",
    "alerts": [
        {"status": "firing", "labels": {"alertname": "HighErrorRate", "service": "orders", "namespace": "shop"},
         "annotations": {"summary": "orders 5xx ratio above 5%"}, "startsAt": "2026-03-01T10:05:30.123456789Z",
         "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://127.0.0.1:9090/graph", "fingerprint": "a1"},
        {"status": "firing", "labels": {"alertname": "HighErrorRate", "service": "orders", "pod": "orders-1"},
         "annotations": {}, "startsAt": "2026-03-01T10:04:00Z", "endsAt": "0001-01-01T00:00:00Z",
         "generatorURL": "", "fingerprint": "b2"},
    ],
}
TEMPLATE: dict[str, Any] = {"service": {"name": "fallback", "users_total": 1000},
                            "sources": {"prometheus": {"url": "http://127.0.0.1:9090"}}}


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def test_parse_reads_group_and_alerts() -> None:
    group = parse_alertmanager_payload(body(PAYLOAD))
    assert group.status == "firing" and group.receiver == "irlib" and len(group.alerts) == 2
    assert group.first_starts_at == pd.Timestamp("2026-03-01T10:04:00Z")
    assert group.alerts[0].ends_at is None
    assert group.label("service") == "orders" and group.label("pod") == "orders-1"


@pytest.mark.parametrize("mutate, status", [
    (lambda p: p.update(status="pending"), 400),
    (lambda p: p.update(alerts=[]), 400),
    (lambda p: p.update(version="3"), 400),
    (lambda p: p.pop("groupKey"), 400),
    (lambda p: p["alerts"][0].update(startsAt="yesterday"), 400),
    (lambda p: p["alerts"][0].update(startsAt="2026-03-01T10:00:00"), 400),
    (lambda p: p["alerts"][0].pop("startsAt"), 400),
    (lambda p: p["commonLabels"].update(x=1), 400),
    (lambda p: p.update(alerts=[p["alerts"][0]] * 1001), 413),
])
def test_parse_rejects_malformed(mutate: Any, status: int) -> None:
    payload = copy.deepcopy(PAYLOAD)
    mutate(payload)
    with pytest.raises(PayloadError) as info:
        parse_alertmanager_payload(body(payload))
    assert info.value.status == status


def test_parse_rejects_oversized_and_non_json() -> None:
    with pytest.raises(PayloadError) as info:
        parse_alertmanager_payload(b" " * 2048, max_bytes=1024)
    assert info.value.status == 413
    for bad in (b"", b"\xff\xfe", b"[1,2]", b"null", b"{" * 5000):
        with pytest.raises(PayloadError):
            parse_alertmanager_payload(bad)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_give_only_clear_errors(data: bytes) -> None:
    try:
        parse_alertmanager_payload(data)
    except PayloadError as exc:
        assert 400 <= exc.status < 500 and str(exc)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=3), max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["status", "alerts", "groupKey", "version", "commonLabels", "receiver",
                                        "groupLabels", "truncatedAlerts"]), json_values))
def test_arbitrary_json_objects_give_only_clear_errors(fields: dict[str, Any]) -> None:
    payload = {**PAYLOAD, **fields}
    try:
        group = parse_alertmanager_payload(body(payload))
    except PayloadError as exc:
        assert 400 <= exc.status < 500
    else:
        assert group.status in ("firing", "resolved") and group.alerts


def test_declared_params_are_valid_incident_parameters(tmp_path: Path) -> None:
    group = parse_alertmanager_payload(body(PAYLOAD))
    text = declare_incident(group, template=TEMPLATE, now=NOW, lookback=pd.Timedelta(minutes=20))
    incident = parse_incident(text, path=tmp_path / "p.yaml", now=NOW)
    assert incident.id == incident_id_of(group)
    assert incident.id.startswith("higherrorrate-20260301T100400Z-")
    assert incident.window.start == pd.Timestamp("2026-03-01T09:44:00Z") and incident.window.end == NOW
    assert incident.service["name"] == "orders" and incident.namespace == "shop"
    assert incident.service["users_total"] == 1000
    assert incident.sources["prometheus"]["url"] == "http://127.0.0.1:9090"


def test_incident_id_is_stable_and_distinguishes_groups() -> None:
    a = parse_alertmanager_payload(body(PAYLOAD))
    repeat = copy.deepcopy(PAYLOAD)
    repeat["alerts"].append({**PAYLOAD["alerts"][0], "startsAt": "2026-03-01T10:09:00Z", "fingerprint": "c3"})
    assert incident_id_of(parse_alertmanager_payload(body(repeat))) == incident_id_of(a)
    other = {**PAYLOAD, "groupKey": "{}:{alertname=\"Other\"}"}
    assert incident_id_of(parse_alertmanager_payload(body(other))) != incident_id_of(a)


class SlowRun:
    """A run function that records its calls and blocks until released (the real runner is tested end to end)."""

    def __init__(self) -> None:
        self.calls: list[Path] = []
        self.release = threading.Event()
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def __call__(self, params: Path) -> dict[str, Any]:
        with self._lock:
            self.calls.append(params)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        self.release.wait(10)
        with self._lock:
            self.active -= 1
        return {"run_dir": str(params.parent / "run"), "exit_code": 0}


def receiver(tmp_path: Path, run: SlowRun, token: str | None = None) -> Receiver:
    return Receiver(state_dir=tmp_path / "state", template=TEMPLATE, run=run, token=token, clock=lambda: NOW)


def test_repeat_notification_does_not_start_a_second_run(tmp_path: Path) -> None:
    run = SlowRun()
    rec = receiver(tmp_path, run)
    status, first = rec.handle(body(PAYLOAD))
    assert status == 202 and first["declared"]
    repeat = copy.deepcopy(PAYLOAD)
    repeat["alerts"] = repeat["alerts"][:1]  # the earliest alert left the group: still the same incident
    status, second = rec.handle(body(repeat))
    assert status == 200 and not second["declared"] and second["incident"] == first["incident"]
    run.release.set()
    assert rec.wait(10)
    assert len(run.calls) == 1
    folder = tmp_path / "state" / first["incident"]
    assert (folder / "params.yaml").is_file() and rec.status(first["incident"])["state"] == "done"


def test_resolved_is_recorded_and_a_later_firing_is_a_new_incident(tmp_path: Path) -> None:
    run = SlowRun()
    run.release.set()
    rec = receiver(tmp_path, run)
    _, first = rec.handle(body(PAYLOAD))
    resolved = copy.deepcopy(PAYLOAD)
    resolved["status"] = "resolved"
    for alert in resolved["alerts"]:
        alert.update(status="resolved", endsAt="2026-03-01T10:30:00Z")
    status, answer = rec.handle(body(resolved))
    assert status == 200 and answer["incident"] == first["incident"]
    recorded = json.loads((tmp_path / "state" / first["incident"] / "resolved.json").read_text())
    assert recorded["resolved_at"] == "2026-03-01T10:30:00+00:00"
    again = copy.deepcopy(PAYLOAD)
    for alert in again["alerts"]:
        alert["startsAt"] = "2026-03-01T11:00:00Z"
    rec.clock = lambda: pd.Timestamp("2026-03-01T11:01:00Z")  # the receiver's clock has moved on too
    status, later = rec.handle(body(again))
    assert status == 202 and later["incident"] != first["incident"]
    assert rec.wait(10) and len(run.calls) == 2


def test_resolved_without_declaration_changes_nothing(tmp_path: Path) -> None:
    rec = receiver(tmp_path, SlowRun())
    resolved = {**PAYLOAD, "status": "resolved"}
    status, answer = rec.handle(body(resolved))
    assert status == 200 and answer["incident"] is None
    assert not (tmp_path / "state").exists()


def test_runs_for_different_incidents_proceed_at_once(tmp_path: Path) -> None:
    run = SlowRun()
    rec = receiver(tmp_path, run)
    for key in ("a", "b", "c"):
        assert rec.handle(body({**PAYLOAD, "groupKey": key}))[0] == 202
    deadline = time.monotonic() + 5
    while run.max_active < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    run.release.set()
    assert rec.wait(10) and run.max_active == 3


def test_failed_run_is_recorded(tmp_path: Path) -> None:
    def boom(params: Path) -> dict[str, Any]:
        raise RuntimeError("kernel died")
    rec = Receiver(state_dir=tmp_path / "s", template=TEMPLATE, run=boom, clock=lambda: NOW)
    _, answer = rec.handle(body(PAYLOAD))
    assert rec.wait(10)
    assert rec.status(answer["incident"]) == {"state": "failed", "started_at": NOW.isoformat(),
                                              "error": "RuntimeError: kernel died"}


def test_bad_payload_and_bad_token_change_nothing(tmp_path: Path) -> None:
    run = SlowRun()
    rec = receiver(tmp_path, run, token="s3cret")
    assert rec.handle(body(PAYLOAD))[0] == 401
    assert rec.handle(body(PAYLOAD), "Bearer nope")[0] == 401
    assert rec.handle(b"{not json", "Bearer s3cret")[0] == 400
    assert not (tmp_path / "state").exists() and not run.calls
    run.release.set()
    assert rec.handle(body(PAYLOAD), "Bearer s3cret")[0] == 202
    assert rec.wait(10)


def post(port: int, path: str, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_http_server_on_loopback(tmp_path: Path) -> None:
    run = SlowRun()
    run.release.set()
    rec = Receiver(state_dir=tmp_path / "state", template=TEMPLATE, run=run, max_bytes=4096, clock=lambda: NOW)
    server = make_server(rec, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        assert post(port, "/alerts", b"x" * 5000)[0] == 413
        assert post(port, "/nowhere", body(PAYLOAD))[0] == 404
        assert post(port, "/alerts", b"[]")[0] == 400
        assert not (tmp_path / "state").exists()
        status, answer = post(port, "/alerts", body(PAYLOAD))
        assert status == 202
        assert post(port, "/alerts", body(PAYLOAD))[0] == 200
        assert rec.wait(10) and len(run.calls) == 1
        params = yaml.safe_load((tmp_path / "state" / answer["incident"] / "params.yaml").read_text())
        assert params["service"]["name"] == "orders"
    finally:
        server.shutdown()
        server.server_close()


def test_exec_command_gets_the_params_path(tmp_path: Path) -> None:
    from irlib.webhook import run_command

    params = tmp_path / "p.yaml"
    params.write_text("x: 1\n")
    assert run_command(params, command=["cat"])["output"] == "x: 1"
    with pytest.raises(Exception, match="exited with 1"):
        run_command(params, command=["false"])


def test_alert_starting_in_the_future_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    future = copy.deepcopy(PAYLOAD)
    future["alerts"][1]["startsAt"] = "2030-01-01T00:00:00Z"
    future["alerts"][0]["startsAt"] = "2030-01-01T00:00:00Z"
    lines: list[str] = []
    run = SlowRun()
    run.release.set()
    rec = Receiver(state_dir=tmp_path / "state", template=TEMPLATE, run=run, clock=lambda: NOW, report=lines.append)
    status, answer = rec.handle(body(future))
    assert status == 422 and "ahead of this receiver's clock" in answer["error"]
    assert not (tmp_path / "state").exists() and lines and "422" in lines[0]
    skewed = copy.deepcopy(PAYLOAD)
    skewed["alerts"][0]["startsAt"] = (NOW + pd.Timedelta(minutes=2)).isoformat()
    skewed["alerts"][1]["startsAt"] = (NOW + pd.Timedelta(minutes=2)).isoformat()
    assert rec.handle(body(skewed))[0] == 202  # a small clock skew is tolerated
    assert rec.wait(10)


def test_labels_that_are_not_names_do_not_become_the_service(tmp_path: Path) -> None:
    hostile = copy.deepcopy(PAYLOAD)
    hostile["commonLabels"].update(service="../../etc", namespace="a b")
    for alert in hostile["alerts"]:
        alert["labels"].update(service="../../etc", namespace="a b")
    text = declare_incident(parse_alertmanager_payload(body(hostile)), template=TEMPLATE, now=NOW)
    service = yaml.safe_load(text)["service"]
    assert service["name"] == "fallback" and "namespace" not in service
    good = declare_incident(parse_alertmanager_payload(body(PAYLOAD)), template=TEMPLATE, now=NOW)
    assert yaml.safe_load(good)["service"] == {"name": "orders", "users_total": 1000, "namespace": "shop"}


def test_the_receiver_reports_each_declaration_repeat_resolution_and_run(tmp_path: Path) -> None:
    run = SlowRun()
    run.release.set()
    lines: list[str] = []
    rec = Receiver(state_dir=tmp_path / "state", template=TEMPLATE, run=run, clock=lambda: NOW, report=lines.append)
    incident = rec.handle(body(PAYLOAD))[1]["incident"]
    rec.handle(body(PAYLOAD))
    assert rec.wait(10)
    resolved = copy.deepcopy(PAYLOAD)
    resolved["status"] = "resolved"
    rec.handle(body(resolved))
    kinds = [line.split(": ", 1)[1].split(" ", 1)[0] for line in lines]  # the run may end before the repeat
    assert kinds[0] == "declared" and kinds[-1] == "resolved" and sorted(kinds[1:3]) == ["repeat", "run"]
    assert all(line.startswith(incident) for line in lines)


def test_wrong_method_is_405_with_allow(tmp_path: Path) -> None:
    rec = Receiver(state_dir=tmp_path / "state", template=TEMPLATE, run=SlowRun(), clock=lambda: NOW)
    server = make_server(rec, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
        conn.request("GET", "/alerts")
        answer = conn.getresponse()
        assert answer.status == 405 and answer.getheader("Allow") == "POST"
        answer.read()
        conn.request("POST", "/healthz", body=b"{}", headers={"Content-Length": "2"})
        answer = conn.getresponse()
        assert answer.status == 405 and answer.getheader("Allow") == "GET"
        conn.close()
    finally:
        server.shutdown()
        server.server_close()
    assert not (tmp_path / "state").exists()


def test_an_alert_of_another_service_drops_the_templates_targets_and_says_so(tmp_path: Path) -> None:
    template = {**TEMPLATE, "service": {"name": "orders", "selector": "app=orders", "deployments": ["orders"],
                                        "containers": ["orders"], "users_total": 1000}}
    other = copy.deepcopy(PAYLOAD)
    other["commonLabels"]["service"] = "payments"
    for alert in other["alerts"]:
        alert["labels"]["service"] = "payments"
    service = yaml.safe_load(declare_incident(parse_alertmanager_payload(body(other)), template=template,
                                              now=NOW))["service"]
    assert service == {"name": "payments", "users_total": 1000, "namespace": "shop"}
    lines: list[str] = []
    run = SlowRun()
    run.release.set()
    rec = Receiver(state_dir=tmp_path / "state", template=template, run=run, clock=lambda: NOW, report=lines.append)
    status, answer = rec.handle(body(other))
    assert status == 202 and "'payments' but the template is for 'orders'" in answer["note"]
    assert "service.selector, service.deployments, service.containers not used" in answer["note"]
    assert "note: alert is for service 'payments'" in lines[0]
    status, same = rec.handle(body({**PAYLOAD, "groupKey": "same"}))
    assert status == 202 and "note" not in same
    assert rec.wait(10)


def test_ignored_hostile_labels_are_noted(tmp_path: Path) -> None:
    hostile = copy.deepcopy(PAYLOAD)
    hostile["commonLabels"].update(service="../../etc", namespace="a b")
    lines: list[str] = []
    run = SlowRun()
    run.release.set()
    rec = Receiver(state_dir=tmp_path / "state", template=TEMPLATE, run=run, clock=lambda: NOW, report=lines.append)
    status, answer = rec.handle(body(hostile))
    assert status == 202
    assert "service label '../../etc' is not a valid name; used the template's 'fallback'" in answer["note"]
    assert "namespace label 'a b' is not a valid namespace" in answer["note"]
    assert "service label '../../etc'" in lines[0]
    assert rec.wait(10)


def test_declaration_line_counts_alerts_in_words(tmp_path: Path) -> None:
    lines: list[str] = []
    run = SlowRun()
    run.release.set()
    rec = Receiver(state_dir=tmp_path / "state", template=TEMPLATE, run=run, clock=lambda: NOW, report=lines.append)
    rec.handle(body(PAYLOAD))
    one = copy.deepcopy(PAYLOAD)
    one["groupKey"], one["alerts"] = "one", one["alerts"][:1]
    rec.handle(body(one))
    assert rec.wait(10)
    declared = [line for line in lines if "declared from" in line]
    assert "declared from 2 firing alerts;" in declared[0] and "declared from 1 firing alert;" in declared[1]


def serving(rec: Receiver, **kwargs: Any) -> Any:
    server = make_server(rec, "127.0.0.1", 0, **kwargs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def raw_exchange(port: int, head: bytes, data: bytes, *, close_write: bool = True) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + data)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_body_shorter_than_content_length_is_400_and_declares_nothing(tmp_path: Path) -> None:
    run = SlowRun()
    run.release.set()
    rec = Receiver(state_dir=tmp_path / "state", template=TEMPLATE, run=run, clock=lambda: NOW)
    server = serving(rec)
    try:
        data = body(PAYLOAD)
        head = f"POST /alerts HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data) + 500}\r\n\r\n".encode()
        answer = raw_exchange(server.server_address[1], head, data)
        assert answer.startswith(b"HTTP/1.0 400") and b"ended after" in answer
        assert not (tmp_path / "state").exists() and not run.calls
    finally:
        server.shutdown()
        server.server_close()


def test_a_client_that_stops_sending_gets_408_after_the_read_timeout(tmp_path: Path) -> None:
    rec = Receiver(state_dir=tmp_path / "state", template=TEMPLATE, run=SlowRun(), clock=lambda: NOW)
    server = serving(rec, read_timeout_s=0.5)
    try:
        head = b"POST /alerts HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
        started = time.monotonic()
        answer = raw_exchange(server.server_address[1], head, b"{", close_write=False)
        assert answer.startswith(b"HTTP/1.0 408") and time.monotonic() - started < 5
        assert not (tmp_path / "state").exists()
    finally:
        server.shutdown()
        server.server_close()


def test_a_client_leaving_before_the_reply_is_one_report_line(tmp_path: Path) -> None:
    lines: list[str] = []
    rec = Receiver(state_dir=tmp_path / "state", template=TEMPLATE, run=SlowRun(), clock=lambda: NOW,
                   report=lines.append)
    server = make_server(rec, "127.0.0.1", 0)
    try:
        try:
            raise BrokenPipeError(32, "Broken pipe")
        except BrokenPipeError:
            server.handle_error(None, ("10.0.0.7", 5555))
    finally:
        server.server_close()
    assert lines == ["client 10.0.0.7 left before the reply (BrokenPipeError); nothing was lost"]


@pytest.mark.parametrize("length", ["abc", "-1", "1.5"])
def test_a_content_length_that_is_not_a_number_is_400(tmp_path: Path, length: str) -> None:
    rec = Receiver(state_dir=tmp_path / "state", template=TEMPLATE, run=SlowRun(), clock=lambda: NOW)
    server = serving(rec)
    try:
        head = f"POST /alerts HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode()
        answer = raw_exchange(server.server_address[1], head, b"{}")
        assert answer.startswith(b"HTTP/1.0 400") and b"Content-Length must be a non-negative integer" in answer
        answer = raw_exchange(server.server_address[1], b"POST /alerts HTTP/1.1\r\nHost: x\r\n\r\n", b"")
        assert answer.startswith(b"HTTP/1.0 411")
    finally:
        server.shutdown()
        server.server_close()


def test_server_header_and_paths(tmp_path: Path) -> None:
    rec = Receiver(state_dir=tmp_path / "state", template=TEMPLATE, run=SlowRun(), clock=lambda: NOW)
    server = serving(rec)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
        for path, status in (("/healthz", 200), ("/", 405), ("/alerts", 405), ("/webhook", 405), ("/x", 404)):
            conn.request("GET", path)
            answer = conn.getresponse()
            answer.read()
            assert answer.status == status and answer.getheader("Server") == "irlib-webhook"
            conn.close()
    finally:
        server.shutdown()
        server.server_close()


def test_invalid_json_and_non_utf8_are_told_apart() -> None:
    with pytest.raises(PayloadError, match=r"^payload is not valid JSON: Expecting"):
        parse_alertmanager_payload(b"{not json")
    with pytest.raises(PayloadError, match=r"^payload is not UTF-8"):
        parse_alertmanager_payload(b"\xff\xfe{}")


@pytest.mark.parametrize("delta, text", [
    (pd.Timedelta(days=26325, hours=7, minutes=46, seconds=34.8), "72 years"),
    (pd.Timedelta(days=40, hours=3), "40 days"),
    (pd.Timedelta(days=1, hours=2), "26 h"),
    (pd.Timedelta(hours=3, minutes=5, seconds=9), "3 h 5 min"),
    (pd.Timedelta(minutes=12, seconds=59), "12 min"),
    (pd.Timedelta(seconds=45), "45 s"),
])
def test_readable_duration(delta: pd.Timedelta, text: str) -> None:
    from irlib.webhook import readable_duration

    assert readable_duration(delta) == text


def test_future_start_message_reads_as_a_duration(tmp_path: Path) -> None:
    future = copy.deepcopy(PAYLOAD)
    for alert in future["alerts"]:
        alert["startsAt"] = "2026-03-01T13:12:30Z"
    rec = Receiver(state_dir=tmp_path / "state", template=TEMPLATE, run=SlowRun(), clock=lambda: NOW)
    status, answer = rec.handle(body(future))
    assert status == 422 and " is 3 h 5 min ahead of this receiver's clock" in answer["error"]
