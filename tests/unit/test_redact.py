"""Redactor behaviour: placeholders, counts, idempotence, flags, frames (fast path), notebooks and JSON values."""
from __future__ import annotations

import json
import re
import time

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from irlib.redact import PREFILTER, Redactor, _overlaps, merge_spans

PLACEHOLDER = re.compile(r"\[REDACTED:([a-z_0-9]+):([0-9a-f]{8})\]")
GH = "ghp_" + "Ab1" * 12


def test_placeholder_is_keyed_and_stable() -> None:
    a, b = Redactor(key=b"one"), Redactor(key=b"two")
    line = f"token {GH} used twice: {GH}"
    out = a.text(line)
    tags = PLACEHOLDER.findall(out)
    assert tags == [("github_token", tags[0][1])] * 2
    assert a.text(line) == out
    assert b.text(line) != out
    assert a.counts["github_token"] == 4


def test_redacting_twice_changes_nothing_and_counts_nothing() -> None:
    r = Redactor(key=b"k")
    once = r.text(f"postgresql://app:Zk81-pqLm@db/orders?password=Zk81-pqLm Authorization: Bearer {GH}")
    counts = dict(r.counts)
    assert r.text(once) == once
    assert dict(r.counts) == counts
    assert "Zk81-pqLm" not in once and GH not in once


def test_url_password_keeps_user_host_and_database() -> None:
    out = Redactor().text("could not connect to mysql://inventory:p4ss-W0rd@mariadb.internal:3306/inventory")
    assert out.startswith("could not connect to mysql://inventory:[REDACTED:url_password:")
    assert out.endswith("]@mariadb.internal:3306/inventory")


def test_key_value_forms() -> None:
    r = Redactor()
    cases = {
        'password="with space 9"': "with space 9",
        "{\"client_secret\": \"Qw8-zzzzzzzzzzzz\"}": "Qw8-zzzzzzzzzzzz",
        '{\\"api_key\\":\\"a1b2c3d4e5f6\\"}': "a1b2c3d4e5f6",
        "X-Api-Key: 0VrM6adjxjwMsjyr": "0VrM6adjxjwMsjyr",
        "PGPASSWORD=short1 psql": "short1",
        "GET /cb?code=1&access_token=Zx81Kq02Lm93&state=x": "Zx81Kq02Lm93",
        "SET PASSWORD FOR 'app'@'%' = 'n3wPass!'": "n3wPass!",
        "CREATE USER app IDENTIFIED BY 'S3cr3t-pw';": "S3cr3t-pw",
    }
    for line, secret in cases.items():
        out = r.text(line)
        assert secret not in out, out
        assert "[REDACTED:" in out


def test_ordinary_words_survive() -> None:
    r = Redactor()
    for line in ["token expired", "password incorrect for user bob", "Bearer realm=\"api\"",
                 "password: ********", "password=${DB_PASSWORD}", "PWD=/srv/app", "secret=orders-tls",
                 "9f83684a1b2c3d4e5f60718293a4b5c6d7e8f901", "orders-api-7d9c8b6f5-x2k4q"]:
        assert r.text(line) == line
    assert not r.counts


def test_email_and_ip_only_with_flags() -> None:
    line = "login by alice@example.com from 203.0.113.9 and 2001:db8::8a2e:370:7334 at 09:26:53"
    assert Redactor().text(line) == line
    out = Redactor(emails=True, ips=True).text(line)
    assert "alice@example.com" not in out and "203.0.113.9" not in out and "2001:db8::8a2e:370:7334" not in out
    assert out.endswith("at 09:26:53")
    assert "[REDACTED:email:" in out and "[REDACTED:ip:" in out


def test_unterminated_private_key_is_redacted_to_the_end() -> None:
    body = "MIIEowIBAAKCAQEA" + "q" * 40 + "Z9"
    out = Redactor().text(f"key: -----BEGIN RSA PRIVATE KEY-----\n{body}\n(truncated")
    assert body not in out and out.startswith("key: [REDACTED:private_key:")


def test_merge_spans_unions_overlaps_and_keeps_priority_kind() -> None:
    assert merge_spans([(5, 10, 2, "api_key"), (0, 7, 0, "jwt"), (12, 14, 1, "x")]) == [(0, 10, "jwt"), (12, 14, "x")]


def test_overlap_with_existing_placeholders() -> None:
    spans = [(0, 5), (10, 20), (30, 31)]
    cases = [(5, 10, False), (4, 6, True), (19, 25, True), (20, 30, False), (25, 40, True), (31, 50, False),
             (12, 13, True)]
    assert [(a, b, _overlaps(a, b, spans)) for a, b, _ in cases] == cases


def test_frame_redacts_text_nested_and_secret_named_columns() -> None:
    r = Redactor(key=b"k")
    frame = pd.DataFrame({
        "ts": pd.to_datetime(["2024-03-14T09:00:00Z"] * 3),
        "message": ["ok", f"auth with {GH}", None],
        "labels": [{"app": "orders"}, {"token": "Zx81Kq02Lm93Ab"}, ["Bearer " + "Q" * 10 + "9" * 10]],
        "password": ["hunter2-x", None, "********"],
        "level": pd.Series(["info", f"warn {GH}", "info"], dtype="category"),
        "n": [1, 2, 3],
    })
    out = r.frame(frame)
    assert [d.name for d in out.dtypes] == [d.name for d in frame.dtypes]
    assert out["message"].iloc[0] == "ok" and pd.isna(out["message"].iloc[2])
    assert GH not in out["message"].iloc[1] and GH not in str(out["level"].iloc[1])
    assert out["labels"].iloc[0] == {"app": "orders"}
    assert out["labels"].iloc[1]["token"].startswith("[REDACTED:")
    assert "Q" * 10 not in out["labels"].iloc[2][0]
    assert out["password"].iloc[0].startswith("[REDACTED:") and out["password"].iloc[2] == "********"
    assert frame["message"].iloc[1] == f"auth with {GH}"  # the input is not modified


def test_frame_counts_every_occurrence_even_when_values_repeat() -> None:
    r = Redactor()
    r.frame(pd.DataFrame({"m": [f"x {GH}"] * 50 + ["plain"] * 50}))
    assert r.counts == {"github_token": 50}


def test_frame_is_fast_on_a_large_frame() -> None:
    clean = [f"2024-03-14T09:{i % 60:02d}:00Z INFO orders-api-7d9c8b6f5-x2k4q GET /v1/orders/{i} 200 {i % 97}ms"
             for i in range(200_000)]
    for i in range(0, len(clean), 100):
        clean[i] = f"2024-03-14T09:00:00Z ERROR upstream auth failed Authorization: Bearer {GH} request={i}"
    frame = pd.DataFrame({"message": clean, "pod": "orders-api-7d9c8b6f5-x2k4q"})
    r = Redactor()
    started = time.perf_counter()
    out = r.frame(frame)
    fast = time.perf_counter() - started
    sample = frame.iloc[:20_000]
    started = time.perf_counter()
    sample["message"].map(Redactor().text)
    naive_per_row = (time.perf_counter() - started) / len(sample)
    print(json.dumps({"benchmark": "redact_frame", "rows": len(frame), "seconds": round(fast, 3),
                      "naive_seconds_estimate": round(naive_per_row * len(frame), 3)}))
    assert r.counts["github_token"] == 2000
    assert not out["message"].str.contains(GH, regex=False).any()
    assert fast < 10 and fast < naive_per_row * len(frame)


def test_json_value_and_kubernetes_env_entries() -> None:
    r = Redactor()
    pod = {"spec": {"containers": [{"env": [{"name": "DB_PASSWORD", "value": "pl41n-pw"},
                                            {"name": "LOG_LEVEL", "value": "debug"},
                                            {"name": "SIGNING_KEY", "value": "k3y-material"}]}]},
           "metadata": {"annotations": {"note": f"rotated {GH}"}}, "replicas": 3, "ratio": 0.5, "ok": True}
    out = r.json_value(pod)
    env = out["spec"]["containers"][0]["env"]
    assert env[0]["value"].startswith("[REDACTED:env_secret:") and env[1]["value"] == "debug"
    assert env[2]["value"].startswith("[REDACTED:env_secret:")
    assert GH not in out["metadata"]["annotations"]["note"]
    assert (out["replicas"], out["ratio"], out["ok"]) == (3, 0.5, True)
    assert pod["spec"]["containers"][0]["env"][0]["value"] == "pl41n-pw"  # the input is not modified


def test_notebook_covers_sources_outputs_errors_and_metadata_but_not_images() -> None:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk" + "A" * 64
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"papermill": {"parameters": {"h": f"x {GH}"}}},
          "cells": [
              {"cell_type": "markdown", "metadata": {}, "source": [f"Token {GH}\n", "next line"]},
              {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": f"t = '{GH}'",
               "outputs": [{"output_type": "stream", "name": "stdout", "text": [f"{GH}\n"]},
                           {"output_type": "display_data", "metadata": {},
                            "data": {"text/plain": f"{GH}", "image/png": png, "text/html": [f"<b>{GH}</b>"]}},
                           {"output_type": "error", "ename": "E", "evalue": f"bad {GH}",
                            "traceback": [f"\x1b[0;31m{GH}\x1b[0m"]}]}]}
    out = Redactor().notebook(nb)
    assert GH not in json.dumps(out)
    assert GH in json.dumps(nb)
    assert out["cells"][1]["outputs"][1]["data"]["image/png"] == png
    assert out["cells"][0]["source"][1] == "next line"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_text_without_a_trigger_is_never_changed(text: str) -> None:
    if not PREFILTER.search(text):
        assert Redactor().text(text) == text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120), st.sampled_from([GH, "AKIAABCDEFGHIJKLMNOP", "sk_live_" + "a1" * 12]),
       st.text(max_size=120))
def test_a_shaped_secret_never_survives_in_any_surroundings(before: str, secret: str, after: str) -> None:
    r = Redactor()
    out = r.text(f"{before} {secret} {after}")
    assert secret not in out
    assert r.text(out) == out


def test_hostile_long_inputs_take_linear_time() -> None:
    """No pattern backtracks badly: each of these 200-600 kB strings is redacted in well under a few seconds."""
    hostile = {
        "keyword_run": "password" * 20000, "word_run": "a" * 200000 + "password=", "url": "http://" + "a:" * 100000,
        "mysql": "mysql " * 20000 + "\n", "mysql_p": "mysql -p" * 30000, "keys": "token=" * 30000,
        "begin": "-----BEGIN RSA PRIVATE KEY-----" * 3000, "cookie": "Cookie: " + "a=b;" * 50000,
        "base64": "A" * 300000, "ipv6": "1:" * 100000, "email": "a." * 100000 + "@", "email2": "a@" * 100000,
        "spaces": "password" + " " * 100000 + "x", "quote": 'password="' + "a" * 100000,
    }
    redactor = Redactor(emails=True, ips=True)
    timings = {}
    for name, text in hostile.items():
        started = time.perf_counter()
        redactor.text(text)
        timings[name] = time.perf_counter() - started
    slowest = max(timings, key=timings.__getitem__)
    print(json.dumps({"benchmark": "redact_hostile", "slowest": slowest, "seconds": round(timings[slowest], 3)}))
    assert timings[slowest] < 3, timings


def test_http_basic_credentials_alone_are_redacted_but_the_word_basic_is_not() -> None:
    from irlib.redact import Redactor

    red = Redactor()
    assert "YXBwOlMz" not in red.text("Basic YXBwOlMzY3JldFBhc3N3MHJk")  # base64 of app:S3cretPassw0rd
    assert red.text("basic health check passed") == "basic health check passed"
    assert red.text("Basic Authentication enabled for realm") == "Basic Authentication enabled for realm"
