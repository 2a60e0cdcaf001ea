"""Step 10: alert rules derived from this incident's signals, their promtool unit tests, and promtool's verdict."""
from __future__ import annotations

import shutil
from pathlib import Path

from ..display import Answer
from ..fsutil import write_text
from ..investigation import Investigation
from . import common, facts
from .checks import all_passed, run_tools

# (signal, how the pods' series are folded, recording-rule name, direction)
RULE_SIGNALS = (("error_ratio", "max", "service:error_ratio", "up"),
                ("latency_p99", "max", "service:latency_p99_seconds", "up"),
                ("memory_working_set", "max", "service:memory_working_set_bytes:max", "up"))
ARTIFACTS = "artifacts"


def _generate(inv: Investigation):  # -> AlertRules
    from ..analysis.alertrules import RuleSignal, generate_alert_rules
    from ..promql import pack_queries

    onset = facts.onset_time(inv)
    queries = pack_queries(inv.incident)
    signals = []
    for name, how, metric, direction in RULE_SIGNALS:
        values = common.signal_series(inv, name, how)
        if len(values):
            signals.append(RuleSignal(name=name, metric=metric, series=values,
                                      labels={"service": inv.incident.service["name"]},
                                      record_expr=_recorded(queries.get(name, ""), how, inv.incident.service["name"]),
                                      direction=direction))
    return generate_alert_rules(signals, onset, incident_id=inv.incident.id, service=inv.incident.service["name"],
                                rules_file="alert-rules.yml") if onset is not None and signals else None


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
    inv.record("alert_rules", [r.__dict__ for r in rules.rules], summary=f"{len(rules.rules)} rule(s)")
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
