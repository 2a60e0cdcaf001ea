"""Step 10: alert rules derived from this incident's signals, their promtool unit tests, and promtool's verdict."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..display import Answer
from ..fsutil import write_text
from ..investigation import Investigation
from . import common, facts
from .checks import all_passed, run_tools

if TYPE_CHECKING:
    from ..analysis.alertrules import AlertRules, RuleSignal

# (signal, how the pods' series are folded, recording-rule name, the incident threshold capping the rule)
RULE_SIGNALS = (("error_ratio", "max", "service:error_ratio", "error_ratio_p1"),
                ("latency_p99", "max", "service:latency_p99_seconds", "latency_p99_s"))
MEMORY_OF_LIMIT_ALERT = 0.8   # the memory rule fires at this fraction of the container limit (as step 11 advises)
ARTIFACTS = "artifacts"


def _generate(inv: Investigation) -> AlertRules | None:
    from ..analysis.alertrules import generate_alert_rules

    onset = facts.onset_time(inv)
    signals = [*_threshold_signals(inv), *_memory_signals(inv)]
    if onset is None or not signals:
        return None
    service = inv.incident.service["name"]
    fired = first_alert_since(common.alerts(inv), onset, service=service, namespace=inv.incident.namespace)
    return generate_alert_rules(signals, onset, incident_id=inv.incident.id, service=service,
                                rules_file="alert-rules.yml", fire_by=fired)


def _threshold_signals(inv: Investigation) -> list[RuleSignal]:
    """Error ratio and p99 latency, each capped by the incident threshold steps 01 and 07 judge it by."""
    from ..analysis.alertrules import RuleSignal
    from ..promql import pack_queries

    queries, service = pack_queries(inv.incident), inv.incident.service["name"]
    signals = []
    for name, how, metric, threshold_key in RULE_SIGNALS:
        values = common.signal_series(inv, name, how)
        if len(values):
            signals.append(RuleSignal(name=name, metric=metric, series=values, labels={"service": service},
                                      record_expr=_recorded(queries.get(name, ""), how, service), direction="up",
                                      ceiling=float(inv.incident.thresholds[threshold_key]),
                                      note=f"thresholds.{threshold_key}"))
    return signals


def _memory_signals(inv: Investigation) -> list[RuleSignal]:
    """Memory against the container limit when the limit is known (a fixed fraction of it), else in bytes."""
    from ..analysis.alertrules import RuleSignal
    from ..promql import pack_queries
    from .performance import memory_limit_bytes

    memory = common.signal_series(inv, "memory_working_set", "max")
    if not len(memory):
        return []
    queries, service = pack_queries(inv.incident), inv.incident.service["name"]
    limit = memory_limit_bytes(inv)
    if not limit:
        return [RuleSignal(name="memory_working_set", metric="service:memory_working_set_bytes:max", series=memory,
                           labels={"service": service}, direction="up", fold="max",
                           record_expr=_recorded(queries.get("memory_working_set", ""), "max", service))]
    return [RuleSignal(name="memory_of_limit", metric="service:memory_working_set:ratio_of_limit",
                       series=memory / limit, labels={"service": service}, direction="up", fold="max",
                       threshold=MEMORY_OF_LIMIT_ALERT,
                       note=f"{MEMORY_OF_LIMIT_ALERT:.0%} of the {limit / 2 ** 20:,.0f} MiB container limit",
                       record_expr=memory_ratio_expr(queries, limit, service))]


def memory_ratio_expr(queries: dict[str, str], limit: float, service: str) -> str | None:
    """The recording rule for memory as a fraction of its limit: per pod against the limit series when it is
    queried, else against the known limit in bytes; labelled with the service the alert selects on."""
    from ..promql import escape_label_value

    memory = queries.get("memory_working_set", "")
    if not memory:
        return None
    ratio = f"({memory}) / ({queries['memory_limit']})" if queries.get("memory_limit") else \
        f"({memory}) / {limit:.0f}"
    return f'label_replace(max({ratio}), "service", "{escape_label_value(service)}", "", "")'


def first_alert_since(alerts: pd.DataFrame, onset: pd.Timestamp, *, service: str = "",
                      namespace: str = "") -> pd.Timestamp | None:
    """When the first alert of this service that fired at or after the onset started (None when none did): a
    derived rule must fire no later, or it would not have caught the incident earlier.  An alert labelled with
    another service or namespace is not this incident's."""
    if alerts.empty:
        return None
    labels = alerts["labels"].map(common.labels_of) if "labels" in alerts else pd.Series([{}] * len(alerts))
    ours = [(not service or lab.get("service", service) == service)
            and (not namespace or lab.get("namespace", namespace) == namespace) for lab in labels]
    starts = pd.to_datetime(alerts.loc[ours, "starts_at"], utc=True).dropna()
    starts = starts[starts >= onset]
    return starts.min() if len(starts) else None


def _recorded(query: str, how: str, service: str) -> str | None:
    """The recording rule: the signal folded over pods, labelled with the service the alert selects on."""
    from ..promql import escape_label_value

    if not query:
        return None
    return f'label_replace({how}({query}), "service", "{escape_label_value(service)}", "", "")'


def _artifacts(inv: Investigation) -> Path:
    return inv.run_dir / ARTIFACTS


def alert_rules(inv: Investigation) -> Answer:
    ans = Answer("Alert rules derived from this incident's signals")
    rules = _generate(inv)
    if rules is None:
        return ans.lack("no onset or no metric signal: no rule can be derived from this incident's data")
    write_text(_artifacts(inv) / "alert-rules.yml", rules.rules_yaml)
    write_text(_artifacts(inv) / "alert-rules.test.yml", rules.test_yaml)
    for rule in rules.rules:
        ans.say(f"{rule.alert}: {rule.explanation}")
    for reason in rules.skipped:
        ans.say(f"No rule for {reason}")
    ans.code = rules.rules_yaml
    inv.record("alert_rules", [r.__dict__ for r in rules.rules], summary=common.counted(len(rules.rules), "rule"))
    inv.record("alert_rules_skipped", list(rules.skipped),
               summary=common.counted(len(rules.skipped), "signal") + " without a rule")
    return ans


def rule_tests(inv: Investigation) -> Answer:
    ans = Answer("promtool unit tests for the rules")
    path = _artifacts(inv) / "alert-rules.test.yml"
    if not path.is_file():
        return ans.lack("no rules were generated, so there are no tests")
    ans.say(f"Written to {ARTIFACTS}/alert-rules.test.yml in the run: each rule is quiet at two baseline instants "
            "and fires at the instant the same evaluation first fires on the incident's own series.")
    text = path.read_text(encoding="utf-8")
    ans.code = text if len(text) < 6000 else text[:6000] + "\n# … (the full file is in the run's artifacts)"
    return ans


def validate(inv: Investigation) -> Answer:
    ans = Answer("Do the rules and tests pass promtool?")
    rules, tests = _artifacts(inv) / "alert-rules.yml", _artifacts(inv) / "alert-rules.test.yml"
    promtool = shutil.which("promtool")
    if promtool is None:
        return ans.lack("promtool is not installed here (Debian package prometheus): rules not validated")
    if not rules.is_file():
        return ans.lack("no rules were generated")
    table = run_tools([rules, tests], [("promtool check rules", [promtool, "check", "rules", rules.name]),
                                       ("promtool test rules", [promtool, "test", "rules", tests.name])])
    passed = all_passed(table)
    ans.say("promtool accepts the rules and every unit test passes." if passed else
            "promtool rejected the rules or a test failed: see the output below.")
    inv.record("alert_rules_valid", passed, summary="promtool: pass" if passed else "promtool: FAILED")
    return ans.table("promtool", table)
