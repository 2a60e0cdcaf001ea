"""Step 10's pure helpers: the first alert that already fired, and memory's recording rule against its limit."""
from __future__ import annotations

import pandas as pd

from irlib.steps.monitoring import first_alert_since, memory_ratio_expr

ONSET = pd.Timestamp("2026-12-03T17:13:16Z")


def test_first_alert_since_the_onset() -> None:
    alerts = pd.DataFrame({"alertname": ["Old", "OOM", "Errors"],
                           "starts_at": pd.to_datetime(["2026-12-03T17:00:00Z", "2026-12-03T17:14:30Z",
                                                        "2026-12-03T17:14:09Z"], utc=True)})
    assert first_alert_since(alerts, ONSET) == pd.Timestamp("2026-12-03T17:14:09Z")
    assert first_alert_since(alerts.iloc[:1], ONSET) is None
    assert first_alert_since(alerts.iloc[:0], ONSET) is None


def test_alerts_of_another_service_or_namespace_do_not_count() -> None:
    alerts = pd.DataFrame({"starts_at": pd.to_datetime(["2026-12-03T17:13:30Z", "2026-12-03T17:13:40Z",
                                                        "2026-12-03T17:14:09Z"], utc=True),
                           "labels": ['{"service":"billing","namespace":"lab"}', '{"namespace":"prod"}',
                                      '{"service":"orders","namespace":"lab","pod":"orders-1"}']})
    assert first_alert_since(alerts, ONSET, service="orders", namespace="lab") == \
        pd.Timestamp("2026-12-03T17:14:09Z")


def test_memory_recording_rule_is_relative_to_the_limit() -> None:
    queries = {"memory_working_set": "sum by (pod) (mem)", "memory_limit": "sum by (pod) (lim)"}
    assert memory_ratio_expr(queries, 100663296.0, "orders") == \
        'label_replace(max((sum by (pod) (mem)) / (sum by (pod) (lim))), "service", "orders", "", "")'
    assert memory_ratio_expr({"memory_working_set": "m"}, 100663296.0, "orders") == \
        'label_replace(max((m) / 100663296), "service", "orders", "", "")'
    assert memory_ratio_expr({}, 1.0, "orders") is None
