"""Regression tests: a pytest file (text) generated from the incident's signature.

The generated file is self-contained (standard library only) and tests real, embedded data: the failing log
template must match the failing lines and not the healthy ones, and the metric threshold must be quiet on the
recorded baseline values and catch the recorded incident values.  The resilience checks to add to the service's
own suite are listed in its docstring.
"""
from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

WILDCARD = re.compile(r"<\*>|<[A-Z_]+>")


@dataclass
class RegressionSignature:
    """What marked the incident.

    template: the failing log template (Drain style, ``<*>`` or ``<NUM>``-like wildcards); failing_lines: sample
    lines of it after the onset; healthy_lines: sample lines from before the onset; metric/threshold/direction:
    the signal and the alert threshold (e.g. from :mod:`irlib.analysis.alertrules`); baseline_values and
    incident_values: that signal's recorded values before and after the onset; min_run: how many consecutive
    incident values must cross the threshold; threshold_note: where the threshold comes from (which signal,
    baseline and incident level, which alert rule), written as a comment next to it in the generated file.
    """

    incident_id: str
    service: str
    template: str | None = None
    failing_lines: Sequence[str] = ()
    healthy_lines: Sequence[str] = ()
    metric: str | None = None
    threshold: float | None = None
    direction: str = "up"
    baseline_values: Sequence[float] = ()
    incident_values: Sequence[float] = ()
    min_run: int = 3
    resilience_checks: Sequence[str] = field(default_factory=list)
    threshold_note: str = ""


def round_threshold(threshold: float, below: float, above: float) -> float:
    """``threshold`` with as few significant digits as keep it strictly between ``below`` (the baseline's top)
    and ``above`` (the incident level): 0.09305993690851735 between 0.002 and 0.185 becomes 0.09."""
    if not (math.isfinite(threshold) and below < threshold < above):
        return threshold
    for digits in range(1, 16):
        rounded = float(f"{threshold:.{digits}g}")
        if below < rounded < above:
            return rounded
    return threshold


def template_regex(template: str) -> str:
    """A regular expression matching a line containing ``template`` (wildcards match any text, spaces any run)."""
    parts = WILDCARD.split(template.strip())
    return ".*?".join(r"\s+".join(re.escape(word) for word in part.split()) for part in parts)


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def _template_section(sig: RegressionSignature, notes: list[str]) -> str:
    assert sig.template is not None
    pattern = re.compile(template_regex(sig.template))
    failing = [line for line in sig.failing_lines if pattern.search(line)]
    healthy = [line for line in sig.healthy_lines if not pattern.search(line)]
    if len(failing) < len(sig.failing_lines):
        left = len(sig.failing_lines) - len(failing)
        notes.append(f"{left} sample failing {'line' if left == 1 else 'lines'} did not match the template "
                     "and were left out")
    if len(healthy) < len(sig.healthy_lines):
        left = len(sig.healthy_lines) - len(healthy)
        notes.append(f"{left} pre-onset {'line' if left == 1 else 'lines'} also matched the template (it "
                     "occurred before the onset too) and were left out of the healthy sample")
    if not failing:
        raise ValueError("no failing line matches the template: give sample lines of the failing template")
    return f'''
TEMPLATE = {sig.template!r}
TEMPLATE_REGEX = re.compile({template_regex(sig.template)!r})
FAILING_LINES = {failing!r}
HEALTHY_LINES = {healthy!r}


def test_failure_signature_matches_every_failing_line():
    missed = [line for line in FAILING_LINES if not TEMPLATE_REGEX.search(line)]
    assert not missed, f"the failure signature no longer matches: {{missed[:3]}}"


def test_failure_signature_is_absent_from_healthy_lines():
    hits = [line for line in HEALTHY_LINES if TEMPLATE_REGEX.search(line)]
    assert not hits, f"the failure signature matches healthy lines: {{hits[:3]}}"
'''


def _metric_section(sig: RegressionSignature) -> str:
    baseline, incident = _finite(sig.baseline_values), _finite(sig.incident_values)
    if sig.threshold is None or not baseline or not incident:
        raise ValueError("a metric signature needs a threshold, baseline values and incident values")
    if sig.direction not in ("up", "down"):
        raise ValueError(f"direction must be 'up' or 'down', got {sig.direction!r}")
    note = "".join(f"# {line}\n" for line in textwrap.wrap(sig.threshold_note, 100)) if sig.threshold_note else ""
    return f'''
METRIC = {sig.metric!r}
{note}THRESHOLD = {float(sig.threshold)!r}
DIRECTION = {sig.direction!r}
MIN_RUN = {int(sig.min_run)!r}
BASELINE = {baseline!r}
INCIDENT = {incident!r}


def crosses(value):
    return value > THRESHOLD if DIRECTION == "up" else value < THRESHOLD


def longest_run(values):
    best = run = 0
    for value in values:
        run = run + 1 if crosses(value) else 0
        best = max(best, run)
    return best


def test_threshold_is_quiet_on_the_baseline():
    loud = [value for value in BASELINE if crosses(value)]
    assert not loud, f"{{METRIC}} crosses {{THRESHOLD}} on the pre-incident baseline: {{loud[:5]}}"


def test_threshold_catches_the_incident():
    assert longest_run(INCIDENT) >= MIN_RUN, (
        f"{{METRIC}} stays past {{THRESHOLD}} for fewer than {{MIN_RUN}} consecutive samples of the incident")


def test_threshold_separates_the_levels():
    inside = sorted(BASELINE)[len(BASELINE) // 2]
    outside = sorted(INCIDENT)[len(INCIDENT) // 2]
    assert crosses(outside) and not crosses(inside)
'''


def generate_regression_tests(sig: RegressionSignature) -> str:
    """The pytest file's text; raises ValueError when the signature has neither a template nor a metric."""
    notes: list[str] = []
    sections = []
    if sig.template:
        sections.append(_template_section(sig, notes))
    if sig.metric:
        sections.append(_metric_section(sig))
    if not sections:
        raise ValueError("the signature has neither a failing template nor a metric condition: nothing to test")
    checks = list(sig.resilience_checks) or ["not established from the evidence: no resilience checks were given"]
    doc = [f"Regression tests generated by irlib from incident {sig.incident_id} ({sig.service}).", "",
           "Run with: python -m pytest <this file>", "", "Resilience checks to add to the service's own suite:"]
    doc += [f"- {item}" for item in checks]
    if notes:
        doc += ["", "Notes from generation:"] + [f"- {note}" for note in notes]
    body = "\n".join(line.replace('"""', "'''").replace("\\", "\\\\") for line in doc)
    return f'"""{body}\n"""\nimport re\n' + "\n".join(sections)
