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
    "check on an undeclared database": (
        GOOD + "checks: [{name: orphans, database: nope, sql: 'SELECT 1'}]\n", "checks[0].database"),
    "zero notebook timeout": (GOOD + "limits: {notebook_timeout_s: 0}\n", "limits.notebook_timeout_s"),
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
