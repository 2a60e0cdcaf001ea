"""The spec of the twelve runbook notebooks: for each step, its questions and the one library call answering each.

``scripts/make_notebooks.py`` writes ``notebooks/*.ipynb`` from it; a test checks the committed notebooks match.
"""
from __future__ import annotations

from typing import Any

Q = tuple[str, str]  # (question as markdown, one library call)

NOTEBOOKS: dict[str, tuple[str, str, list[Q]]] = {
    "01-assessment": ("Assessment", "What is broken, since when, how bad, and what do we tell people?", [
        ("Snapshot the evidence that expires first (events, previous container logs, pod statuses).",
         "steps.common.snapshot(inv)"),
        ("What is broken right now?", "steps.assessment.what_is_broken(inv)"),
        ("Since when?", "steps.assessment.since_when(inv)"),
        ("How many users, requests and services are affected?", "steps.assessment.impact(inv)"),
        ("What changed shortly before it started?", "steps.assessment.recent_changes(inv)"),
        ("How severe is it: P0, P1 or P2?", "steps.assessment.severity(inv)"),
        ("What is the first status update (internal and status page)?", "steps.assessment.status_update(inv)"),
    ]),
    "02-troubleshooting": ("Troubleshooting", "Where do the errors come from, and what do the signals say?", [
        ("Which errors do the logs show, and how did they evolve?", "steps.troubleshooting.error_logs(inv)"),
        ("Error rate, latency and saturation over the window", "steps.troubleshooting.golden_signals(inv)"),
        ("Which deployments and configuration changes happened recently?", "steps.troubleshooting.changes(inv)"),
        ("Are the health checks passing (pods ready, targets up, probe failures)?",
         "steps.troubleshooting.health(inv)"),
        ("Are the dependencies healthy?", "steps.troubleshooting.dependencies(inv)"),
    ]),
    "03-deep-debugging": ("Deep debugging", "What exactly fails, and how do we reproduce it?", [
        ("Which error classes occur (exceptions, HTTP 5xx, errno, SQLSTATE)?", "steps.deep_debugging.error_classes(inv)"),
        ("Which stack traces, grouped by signature, with one example each?", "steps.deep_debugging.stack_traces(inv)"),
        ("Which log templates are new or surging since the onset?", "steps.deep_debugging.new_since_onset(inv)"),
        ("What do we know to reproduce it?", "steps.deep_debugging.reproduction(inv)"),
    ]),
    "04-performance": ("Performance", "Which resources are saturated, and when do they run out?", [
        ("CPU, memory and restarts against requests and limits", "steps.performance.resources(inv)"),
        ("Which pods and containers are the hotspots?", "steps.performance.hotspots(inv)"),
        ("When does the resource run out (time until OOM)?", "steps.performance.exhaustion(inv)"),
        ("Does the restart pattern look like a leak?", "steps.performance.restart_pattern(inv)"),
    ]),
    "05-database": ("Database", "Is the database the cause or a victim?", [
        ("Which sessions are active, and which run long or sit idle in a transaction?",
         "steps.database.sessions(inv)"),
        ("Who blocks whom (lock waits as a tree, root blockers first)?", "steps.database.blocking(inv)"),
        ("Which statements are slow?", "steps.database.slow_statements(inv)"),
        ("Are connections near saturation?", "steps.database.connections(inv)"),
        ("Is replication lagging; are there deadlocks or temp-file spills?", "steps.database.replication_and_stats(inv)"),
    ]),
    "06-fix": ("Fix", "What do we do now, and how do we undo it?", [
        ("Which mitigations does the evidence support, best first?", "steps.fix.options(inv)"),
        ("What is the rollback target and the exact command?", "steps.fix.rollback_plan(inv)"),
        ("Which actions were taken (only when the parameters allow it)?", "steps.fix.actions(inv)"),
    ]),
    "07-deployment": ("Deployment", "Is the new version safe to promote?", [
        ("Canary against baseline: error ratio and latency", "steps.deployment.canary(inv)"),
        ("Health gates and rollback triggers", "steps.deployment.gates(inv)"),
        ("Rollout state and the commands to promote or roll back", "steps.deployment.rollout_state(inv)"),
    ]),
    "08-stabilization": ("Stabilization", "Has the service recovered, and is the data consistent?", [
        ("Are error rate and latency back inside the pre-incident band?", "steps.stabilization.recovery(inv)"),
        ("Are all pods ready and stable?", "steps.stabilization.pods(inv)"),
        ("Are backlogs draining, and when will they be empty?", "steps.stabilization.backlog(inv)"),
        ("Do the data-consistency checks pass?", "steps.stabilization.consistency(inv)"),
        ("Status update", "steps.stabilization.status_update(inv)"),
    ]),
    "09-security": ("Security", "Is this a security incident?", [
        ("Authentication failures and 401/403 surges", "steps.security.auth_failures(inv)"),
        ("Unusual clients since the onset", "steps.security.unusual_clients(inv)"),
        ("Credentials exposed in logs (counted, never shown)", "steps.security.credential_exposure(inv)"),
        ("Verdict: was this a breach?", "steps.security.verdict(inv)"),
    ]),
    "10-monitoring": ("Monitoring", "Which alerts would have caught this earlier?", [
        ("Alert rules derived from this incident's signals", "steps.monitoring.alert_rules(inv)"),
        ("promtool unit tests proving each rule fires at the onset and stays quiet before",
         "steps.monitoring.rule_tests(inv)"),
        ("Do the rules and tests pass promtool?", "steps.monitoring.validate(inv)"),
    ]),
    "11-regression-tests": ("Regression tests", "Which tests keep this from happening again?", [
        ("The incident's signature as a pytest file", "steps.regression.test_file(inv)"),
        ("Does the generated file compile and pass?", "steps.regression.validate(inv)"),
        ("Resilience checks to add", "steps.regression.resilience(inv)"),
    ]),
    "12-postmortem": ("Postmortem", "What happened, why, and what do we change?", [
        ("Timeline from all sources", "steps.postmortem.timeline(inv)"),
        ("Time to detect, acknowledge, mitigate and resolve", "steps.postmortem.durations(inv)"),
        ("The blameless postmortem", "steps.postmortem.document(inv)"),
    ]),
}

PARAMETERS = ('params = ""  # incident parameters YAML; empty: the demo incident (parameters/demo.yaml)\n'
              'run_dir = ""  # empty: a new interactive run under reports/<incident>/\n'
              'replay = ""  # a run directory whose evidence answers every fetch (offline re-run)\n'
              'step = "{step}"\n'
              'now = ""  # the run clock for relative windows; empty: now')


def _cell(kind: str, source: str, tags: list[str] | None = None) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "id": "", "metadata": {"tags": tags} if tags else {},
                            "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def render(name: str) -> dict[str, Any]:
    title, purpose, questions = NOTEBOOKS[name]
    step = name[:2]
    cells = [
        _cell("markdown", f"# {step} · {title}\n\n{purpose}\n\nRuns against the incident in `params` "
                          "(default: the embedded demo incident). Every fetch is recorded as evidence in the run."),
        _cell("code", PARAMETERS.format(step=step), ["parameters"]),
        _cell("code", "from irlib import open_investigation, steps\n\n"
                      "inv = open_investigation(params, run_dir=run_dir, replay=replay, step=step, now=now)\n"
                      "steps.common.header(inv)"),
    ]
    for question, call in questions:
        cells.append(_cell("markdown", f"## {question}"))
        cells.append(_cell("code", call))
    cells.append(_cell("markdown", "## Evidence this step used, and what it lacks"))
    cells.append(_cell("code", "steps.common.evidence_used(inv)"))
    for index, cell in enumerate(cells):
        cell["id"] = f"step{step}-{index:02d}"
    return {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "irlib (project venv)", "language": "python", "name": "irlib"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
