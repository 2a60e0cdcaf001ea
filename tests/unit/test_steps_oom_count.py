"""OOM kills are counted from what the evidence holds: the events' count, else only the last termination."""
from __future__ import annotations

import pandas as pd

from irlib.steps import assessment, common


def _events(rows: list[tuple[str, str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["reason", "object_name", "message", "count"])


def test_backoff_events_naming_oomkilled_count_every_kill() -> None:
    ev = _events([("BackOff", "orders-1", "Back-off restarting failed container orders (OOMKilled, exit code 137)", 1)]
                 * 5 + [("Unhealthy", "orders-1", "Readiness probe failed", 5),
                        ("OOMKilling", "other-9", "Memory cgroup out of memory", 3)])
    assert common.oom_kills_from_events(ev, ["orders-1"]) == 5
    assert common.oom_kills_from_events(ev, ["orders-2"]) is None
    assert common.oom_kills_from_events(_events([]), ["orders-1"]) is None


def test_oom_text_claims_no_more_than_the_evidence() -> None:
    assert common.oom_text(5, 5, 1) == "5 OOM kills"
    assert common.oom_text(1, 1, 1) == "1 OOM kill"
    assert common.oom_text(2, 7, 1) == "2 OOM kills"  # never more kills than restarts
    assert common.oom_text(5, None, 1) == "last terminated by OOMKilled (exit 137)"
    assert common.oom_text(5, None, 2) == "2 containers last terminated by OOMKilled (exit 137)"
    assert common.oom_text(0, None, 0) == "no OOM kill"


def test_broken_summary_uses_the_event_count_and_plurals() -> None:
    b = {"pods_total": 1, "pods_not_ready": 0, "restarts": 5, "oom_killed": 1, "oom_text": "5 OOM kills",
         "crash_looping": 0, "error_ratio_peak": 1.0}
    assert assessment._broken_summary(b, "orders") == (
        "orders: 1 of 1 pods ready, 5 restarts, 5 OOM kills; error ratio peak 100.0%")
    assert assessment.pods_sentence({**b, "restarts": 1, "crash_looping": 1, "oom_text": "1 OOM kill"}) == (
        "their containers restarted once; 1 OOM kill; 1 container in CrashLoopBackOff")
    assert "(s)" not in assessment.pods_sentence(b)


def test_peak_latency_reads_in_ms_or_says_it_was_not_measured() -> None:
    assert assessment.latency_sentence(0.04655) == "Peak p99 latency 46.6 ms."
    assert assessment.latency_sentence(2.5) == "Peak p99 latency 2.50 s."
    assert assessment.latency_sentence(None) == "p99 latency not measured."
