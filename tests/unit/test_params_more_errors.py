"""More bad parameter files the loader refuses with one clear message (file and key), before anything runs."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from irlib.errors import ParameterError
from irlib.incident import load_incident

GOOD = """
incident: {id: INC-7, title: checkout errors, declared_at: "2026-11-20T14:30:00Z"}
window: {start: "2026-11-20T13:00:00Z", end: "2026-11-20T15:00:00Z"}
service: {name: checkout, namespace: shop}
"""
CASES = {
    "duplicate top-level key": (GOOD + "incident: {id: X, title: y, declared_at: now}\n", "incident"),
    "token instead of its variable name": (
        GOOD + "sources: {prometheus: {url: 'http://p:9090', token_env: ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8}}\n",
        "sources.prometheus.token_env"),
    "password in a URL": (GOOD + "sources: {prometheus: {url: 'http://admin:hunter2@p:9090'}}\n",
                          "sources.prometheus.url"),
    "not a URL": (GOOD + "sources: {prometheus: {url: 'not a url'}}\n", "sources.prometheus.url"),
    "negative timeout": (GOOD + "sources: {prometheus: {url: 'http://p:9090', timeout_s: -5}}\n",
                         "sources.prometheus.timeout_s"),
    "negative users": (GOOD.replace("namespace: shop}", "namespace: shop, users_total: -3}"),
                       "service.users_total"),
    "ratio above 1": (GOOD + "thresholds: {error_ratio_p0: 5}\n", "thresholds.error_ratio_p0"),
    "p0 below p1": (GOOD + "thresholds: {error_ratio_p0: 0.01, error_ratio_p1: 0.2}\n", "thresholds.error_ratio_p0"),
    "threshold name with a typo": (GOOD + "thresholds: {lookback_mins: 30}\n", "thresholds.lookback_mins"),
    "check on an undeclared database": (
        GOOD + "checks: [{name: orphans, database: nope, sql: 'SELECT 1'}]\n", "checks[0].database"),
    "zero notebook timeout": (GOOD + "limits: {notebook_timeout_s: 0}\n", "limits.notebook_timeout_s"),
    "step that is not a duration": (GOOD + "sources: {prometheus: {url: 'http://p:9090', step: banana}}\n",
                                    "sources.prometheus.step"),
    "step with a unit typo": (GOOD + "sources: {prometheus: {url: 'http://p:9090', step: 30sec}}\n",
                              "sources.prometheus.step"),
    "step rounding to 0 ms": (GOOD + "sources: {prometheus: {url: 'http://p:9090', step: 0.0001}}\n",
                              "sources.prometheus.step"),
    "negative step": (GOOD + "sources: {prometheus: {url: 'http://p:9090', step: -30}}\n", "sources.prometheus.step"),
    "step as a list": (GOOD + "sources: {prometheus: {url: 'http://p:9090', step: [30s]}}\n",
                       "sources.prometheus.step"),
    "lock timeout rounding to 0 ms (no limit)": (
        GOOD + "sources: {databases: [{name: orders, dsn_env: DSN, lock_timeout_s: 0.0001}]}\n",
        "sources.databases[0].lock_timeout_s"),
    "statement timeout beyond PostgreSQL's": (
        GOOD + "sources: {databases: [{name: orders, dsn_env: DSN, statement_timeout_s: 1e9}]}\n",
        "sources.databases[0].statement_timeout_s"),
    "kubernetes timeout of a century": (GOOD + "sources: {kubernetes: {timeout_s: 3.2e9}}\n",
                                        "sources.kubernetes.timeout_s"),
    "look-back past any representable time": (GOOD + "thresholds: {lookback_min: 1e300}\n",
                                              "thresholds.lookback_min"),
    "fractional user count": (GOOD.replace("namespace: shop}", "namespace: shop, users_total: 1000.7}"),
                              "service.users_total"),
    "replay of a missing run": (GOOD + "sources: {replay: /nonexistent/run}\n", "sources.replay"),
    "replay of a directory without evidence/": (GOOD + "sources: {replay: .}\n", "sources.replay"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_with_file_and_key(case: str, tmp_path: Path) -> None:
    text, key = CASES[case]
    path = tmp_path / "incident.yaml"
    path.write_text(text)
    with pytest.raises(ParameterError) as err:
        load_incident(path, now=pd.Timestamp("2026-11-20T15:00:00Z"))
    message = str(err.value)
    assert message.startswith(str(path)) and key in message and "\n" not in message
    assert "hunter2" not in message and "ghp_A1b2" not in message


def test_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "incident.yaml"
    path.write_text(GOOD + "# " + "x" * (2 << 20) + "\n")
    with pytest.raises(ParameterError, match="bytes"):
        load_incident(path, now=pd.Timestamp("2026-11-20T15:00:00Z"))


@pytest.mark.parametrize("header", ['{Authorization: "Bearer opaqueTOKENvalue123456"}',
                                    '{X-Api-Key: "sk_live_abcdefghijklmnop1234"}', "{X-Tenant: ghp_" + "a" * 36 + "}"])
def test_literal_credentials_in_prometheus_headers_are_refused(header: str, tmp_path: Path) -> None:
    from irlib.errors import ParameterError
    from irlib.incident import parse_incident

    text = ("incident: {id: h, title: t, declared_at: '2026-11-20T14:30:00Z'}\n"
            "window: {start: '2026-11-20T13:00:00Z', end: '2026-11-20T15:00:00Z'}\nservice: {name: s}\n"
            f"sources:\n  prometheus: {{url: 'http://127.0.0.1:9090', headers: {header}}}\n")
    with pytest.raises(ParameterError) as caught:
        parse_incident(text, path=tmp_path / "p.yaml", now=pd.Timestamp("2026-11-20T15:00:00Z"))
    assert "headers_env" in str(caught.value) and "headers." in str(caught.value)


@pytest.mark.parametrize("step", ["30s", "1m", "1h30m", "500ms", 15, 2.5])
def test_valid_steps_are_kept_as_written(step: object, tmp_path: Path) -> None:
    path = tmp_path / "incident.yaml"
    path.write_text(GOOD + f"sources: {{prometheus: {{url: 'http://p:9090', step: {step}}}}}\n")
    incident = load_incident(path, now=pd.Timestamp("2026-11-20T15:00:00Z"))
    assert incident.sources["prometheus"]["step"] == step


def test_replay_is_read_relative_to_the_parameters_file(tmp_path: Path) -> None:
    (tmp_path / "runs" / "r1" / "evidence").mkdir(parents=True)
    path = tmp_path / "incident.yaml"
    path.write_text(GOOD + "sources: {replay: runs/r1}\n")
    incident = load_incident(path, now=pd.Timestamp("2026-11-20T15:00:00Z"))
    assert incident.sources["replay"] == "runs/r1"


def test_the_messages_say_what_to_write(tmp_path: Path) -> None:
    path = tmp_path / "incident.yaml"
    for text, fragments in [
        (GOOD + "sources: {prometheus: {url: 'http://p:9090', step: banana}}\n", ("'banana'", "not a duration", "1m")),
        (GOOD.replace("namespace: shop}", "namespace: shop, users_total: 1000.7}"), ("whole number", "1000.7")),
        (GOOD + "sources: {replay: /nonexistent/run}\n", ("'/nonexistent/run'", "evidence/", "irlib:demo")),
    ]:
        path.write_text(text)
        with pytest.raises(ParameterError) as err:
            load_incident(path, now=pd.Timestamp("2026-11-20T15:00:00Z"))
        assert all(f in str(err.value) for f in fragments), str(err.value)
