"""Monitoring: Prometheus alerting rules for the signals that marked this incident, with a ``promtool test rules``
file proving, on the incident's own series, that each rule fires at/after the onset and is quiet on the baseline.

Each :class:`RuleSignal` names the series the rule alerts on (a metric name and labels; typically a recording rule
such as ``service:error_ratio:rate5m`` whose PromQL is given as ``record_expr``) and carries the incident's values
of it (a ``pd.Series`` indexed by UTC timestamps, e.g. one ``signal`` of the Prometheus long frame).
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import yaml

from .onset import change_points
from .recovery import baseline_band
from .text import fmt_duration

MAX_SAMPLES = 720            # input series are sampled down to at most this many points
LOOKBACK = pd.Timedelta("5m")  # Prometheus' default lookback: a gap shorter than this keeps the last value
MAX_FOR = pd.Timedelta("5m")
MIN_RISE = 0.25  # the incident level must lie beyond the pre-onset band's edge by this fraction of it (not noise)


@dataclass
class RuleSignal:
    """A signal to alert on: ``metric`` and ``labels`` form the series selector; ``series`` the incident's values."""

    name: str
    metric: str
    series: pd.Series
    labels: Mapping[str, str] = field(default_factory=dict)
    record_expr: str | None = None   # PromQL computing ``metric`` from raw metrics (emitted as a recording rule)
    direction: str | None = None     # "up" | "down"; None: taken from the change at the onset
    ceiling: float | None = None     # the incident parameters' threshold: a rise rule's threshold never exceeds it
    threshold: float | None = None   # a fixed threshold (e.g. 0.8 of the memory limit); None: derived from the data
    note: str = ""                   # where ``ceiling`` or ``threshold`` comes from, for the explanation
    fold: str = "mean"               # how samples within one step are combined ("max" for a level near a limit)


@dataclass
class DerivedRule:
    """One generated rule and the numbers it was derived from (``fires_at``: first firing on the incident data)."""

    signal: str
    alert: str
    expr: str
    threshold: float
    for_s: int
    direction: str
    baseline_level: float
    incident_level: float
    fires_at: pd.Timestamp | None
    explanation: str


@dataclass
class AlertRules:
    """The rule file text, the promtool test file text (which loads ``rules_file``), the rules and what was skipped."""

    rules_yaml: str
    test_yaml: str
    rules: list[DerivedRule] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def selector(metric: str, labels: Mapping[str, str]) -> str:
    """``metric{a="b"}`` with label values escaped for PromQL (backslash, double quote, newline)."""
    if not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", metric):
        raise ValueError(f"{metric!r} is not a valid Prometheus metric name")
    parts = []
    for key, value in sorted(labels.items()):
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", key):
            raise ValueError(f"{key!r} is not a valid Prometheus label name")
        escaped = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        parts.append(f'{key}="{escaped}"')
    return metric + ("{" + ",".join(parts) + "}" if parts else "")


def prom_duration(seconds: float) -> str:
    """Seconds as a Prometheus duration (``1h30m``, ``90s`` -> ``1m30s``, ``0s``)."""
    total = int(round(seconds))
    if total == 0:
        return "0s"
    out = ""
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            out += f"{total // size}{unit}"
            total %= size
    return out


def _grid(series: pd.Series, step: pd.Timedelta, fold: str = "mean") -> pd.Series:
    values = pd.to_numeric(series, errors="coerce").astype("float64").sort_index()
    values = values[~values.index.isna()]
    span = values.index[-1] - values.index[0]
    step = max(step, pd.Timedelta(seconds=math.ceil(span.total_seconds() / MAX_SAMPLES)))
    origin = values.index[0].floor(step)
    return values.resample(step, origin=origin).agg(fold)


def _levels(series: pd.Series, onset: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """Baseline values (the steps that end by the onset: none holds incident data) and the incident segment's
    values (onset up to the next change)."""
    clean = series.dropna()
    step = series.index[1] - series.index[0] if len(series) > 1 else pd.Timedelta(0)
    base = clean[clean.index + step <= onset].to_numpy()
    after = clean[clean.index >= onset]
    later = [p.time for p in change_points(clean) if p.time > onset + pd.Timedelta("1min")]
    segment = after[after.index < later[0]] if later else after
    return base, segment.to_numpy()


def _simulate(grid: pd.Series, threshold: float, up: bool, for_s: int) -> pd.Timestamp | None:
    """First evaluation time (one per grid point) at which the alert is firing, as Prometheus would evaluate it."""
    last_value, last_at, active_since = math.nan, None, None
    for when, value in grid.items():
        if not math.isnan(value):
            last_value, last_at = value, when
        current = last_value if last_at is not None and when - last_at < LOOKBACK else math.nan
        active = not math.isnan(current) and (current > threshold if up else current < threshold)
        active_since = (active_since or when) if active else None
        if active_since is not None and (when - active_since).total_seconds() >= for_s:
            return when
    return None


def _number(value: float) -> str:
    """A number as promtool's series notation and PromQL both read it (positional, never scientific)."""
    return str(np.format_float_positional(float(value), precision=10, trim="-"))


def _threshold(low: float, high: float) -> float:
    """A round number strictly between ``low`` and ``high`` near their midpoint."""
    mid = low + (high - low) / 2
    for digits in (2, 3, 4, 6, 10):
        candidate = float(f"{mid:.{digits}g}")
        if low < candidate < high:
            return candidate
    return mid


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def _sustained_steps(grid: pd.Series, onset: pd.Timestamp, threshold: float, up: bool) -> int:
    after = grid[grid.index >= onset].ffill(limit=max(0, int(LOOKBACK / (grid.index[1] - grid.index[0])) - 1))
    hits = (after > threshold) if up else (after < threshold)
    run = 0
    for hit in hits.to_numpy():
        if hit:
            run += 1
        elif run:
            break
    return run


def derive_rule(signal: RuleSignal, onset: pd.Timestamp, *, step: str = "1m", service: str = "",
                severity: str = "page", fire_by: pd.Timestamp | None = None,
                ) -> tuple[DerivedRule | None, pd.Series, str]:
    """The rule for one signal, the sampled grid it was derived on, and (when no rule) why not.

    ``fire_by``: when an alert already fired for this incident; a rule that would fire later catches nothing
    earlier, so its ``for:`` is shortened until it fires by then, or it is skipped.
    """
    clean = signal.series.dropna()
    if len(clean) < 4:
        return None, clean, f"{signal.name}: fewer than 4 points"
    grid = _grid(signal.series, pd.Timedelta(step), signal.fold)
    if len(grid) < 4:
        return None, grid, f"{signal.name}: the series spans fewer than 4 steps of {step}"
    base, seg = _levels(grid, onset)
    if len(base) < 3 or len(seg) == 0:
        return None, grid, f"{signal.name}: not enough points before ({len(base)}) or after ({len(seg)}) the onset"
    up = (signal.direction or ("up" if np.median(seg) > np.median(base) else "down")) == "up"
    base_level, inc_level = _edge(base, up), float(np.median(seg))
    threshold, why_not = _pick_threshold(signal, base_level, inc_level, up)
    if threshold is None:
        return None, grid, why_not
    for_s, fires_at = _timing(grid, onset, threshold, up, fire_by)
    if fires_at is None or fires_at + (grid.index[1] - grid.index[0]) <= onset:  # fires on pre-onset steps
        return None, grid, f"{signal.name}: a rule at {threshold:g} would not fire on the incident data"
    if fire_by is not None and fires_at > fire_by:
        return None, grid, (f"{signal.name}: a rule at {threshold:g} would first fire at {fires_at:%H:%M:%S} UTC, "
                            f"after the alert that already fired at {fire_by:%H:%M:%S} UTC: it would not have "
                            "caught this earlier")
    alert = _camel(f"{service} {signal.name} {'high' if up else 'low'}")
    expr = f"{selector(signal.metric, signal.labels)} {'>' if up else '<'} {_number(threshold)}"
    why = (f"{signal.name} {'above' if up else 'below'} {threshold:g} for {prom_duration(for_s)}: "
           f"{_basis(signal, threshold, base_level, inc_level, up)}; on this incident it fires at "
           f"{fires_at:%H:%M:%S} UTC ({fmt_duration((fires_at - onset).total_seconds())} after the onset"
           + (f", no later than the alert that already fired at {fire_by:%H:%M:%S} UTC)" if fire_by is not None
              else ")"))
    return DerivedRule(signal.name, alert, expr, threshold, for_s, "up" if up else "down", base_level, inc_level,
                       fires_at, why), grid, ""


def _edge(base: np.ndarray, up: bool) -> float:
    """The pre-onset band's top (for a rise) or bottom (for a fall): a robust quantile, as step 08 uses; the
    band's hair-width margin around a zero baseline is read as zero."""
    low, high = baseline_band(pd.Series(base))
    edge = high if up else low
    return 0.0 if abs(edge) < 1e-9 else edge


def _pick_threshold(signal: RuleSignal, base_level: float, inc_level: float, up: bool) -> tuple[float | None, str]:
    """The threshold (None and why not): the fixed one, else a round number between the band's edge and the
    incident level, never above the incident parameters' ``ceiling`` for a rise."""
    side, edge = ("above", "top") if up else ("below", "bottom")
    if signal.threshold is not None:
        if (signal.threshold <= base_level) if up else (signal.threshold >= base_level):
            return None, (f"{signal.name}: the pre-onset band's {edge} {base_level:.4g} already reaches the "
                          f"threshold {signal.threshold:g} ({signal.note or 'fixed'})")
        return signal.threshold, ""
    margin = MIN_RISE * abs(base_level)
    clears = inc_level > base_level + margin if up else inc_level < base_level - margin
    if not clears:
        return None, (f"{signal.name}: the incident level {inc_level:.4g} is not clearly {side} the pre-onset "
                      f"band's {edge} {base_level:.4g} (by {MIN_RISE:.0%} of it); no threshold separates them "
                      "without alerting on noise")
    threshold = _threshold(base_level, inc_level) if up else _threshold(inc_level, base_level)
    if up and signal.ceiling is not None and threshold > signal.ceiling:
        if signal.ceiling <= base_level:
            return None, (f"{signal.name}: the pre-onset band's top {base_level:.4g} is already above the "
                          f"incident threshold {signal.ceiling:g} ({signal.note}); fix that threshold first")
        threshold = signal.ceiling
    return threshold, ""


def _timing(grid: pd.Series, onset: pd.Timestamp, threshold: float, up: bool,
            fire_by: pd.Timestamp | None) -> tuple[int, pd.Timestamp | None]:
    """``for:`` (half the time the incident stayed past the threshold, at most 5 min, shortened until the rule
    fires by ``fire_by``, but never under one step of the grid: a rule that fires on a single evaluation pages on
    every blip) and the first evaluation at which the rule fires on the grid."""
    step_s = (grid.index[1] - grid.index[0]).total_seconds()
    min_for_s = max(1, int(step_s))
    run = _sustained_steps(grid, onset, threshold, up)
    for_s = max(min_for_s, int(min(MAX_FOR.total_seconds(), step_s * ((run - 1) // 2))))
    fires_at = _simulate(grid, threshold, up, for_s)
    while fire_by is not None and fires_at is not None and fires_at > fire_by and for_s > min_for_s:
        for_s = max(min_for_s, int(for_s - step_s))
        fires_at = _simulate(grid, threshold, up, for_s)
    return for_s, fires_at


def _basis(signal: RuleSignal, threshold: float, base_level: float, inc_level: float, up: bool) -> str:
    """Where the threshold comes from, in words."""
    edge = "top" if up else "bottom"
    if signal.threshold is not None:
        return (f"{signal.note or 'a fixed threshold'}, beyond the pre-onset band's {edge} {base_level:.4g}; "
                f"the incident level was {inc_level:.4g}")
    capped = up and signal.ceiling is not None and threshold == signal.ceiling
    return (f"between the pre-onset band's {edge} {base_level:.4g} and the incident level {inc_level:.4g}"
            + (f", capped at the incident threshold {signal.ceiling:g} ({signal.note})" if capped else
               f", within the incident threshold {signal.ceiling:g} ({signal.note})" if up and signal.ceiling
               is not None else ""))


def _rule_entry(rule: DerivedRule, signal: RuleSignal, severity: str, incident_id: str) -> dict[str, object]:
    return {"alert": rule.alert, "expr": rule.expr, "for": prom_duration(rule.for_s),
            "labels": {"severity": severity}, "annotations": _annotations(rule, signal, incident_id)}


def _annotations(rule: DerivedRule, signal: RuleSignal, incident_id: str) -> dict[str, str]:
    return {"summary": f"{signal.name} {'above' if rule.direction == 'up' else 'below'} {rule.threshold:g}",
            "description": f"Derived from incident {incident_id}: {rule.explanation.split('; on this')[0]}."}


def _series_values(grid: pd.Series) -> str:
    tokens = ["_" if math.isnan(v) else _number(v) for v in grid.to_numpy()]
    out: list[str] = []
    i = 0
    while i < len(tokens):
        j = i
        while j + 1 < len(tokens) and tokens[j + 1] == tokens[i]:
            j += 1
        count = j - i + 1
        if tokens[i] != "_" and count >= 3:
            out.append(f"{tokens[i]}x{count - 1}")
        else:
            out.extend(tokens[i:j + 1])
        i = j + 1
    return " ".join(out)


def generate_alert_rules(signals: Sequence[RuleSignal], onset: pd.Timestamp, *, incident_id: str, service: str,
                         step: str = "1m", severity: str = "page", rules_file: str = "rules.yml",
                         fire_by: pd.Timestamp | None = None) -> AlertRules:
    """Rules (and their promtool tests) for every signal a threshold separates from its baseline.

    Baseline: the steps that end by the onset, as a band of robust quantiles (:func:`.recovery.baseline_band`).
    Threshold: a signal's fixed threshold, else the midpoint between the band's edge (top for a rise, bottom for a
    fall) and the incident segment's median, rounded, and never above the signal's ``ceiling`` (the incident
    parameters' threshold); a level within :data:`MIN_RISE` of the band is noise and gets no rule.
    ``for:``: half the time the incident stayed past the threshold, at most 5 min, shorter when needed to fire by
    ``fire_by`` (the first alert that already fired); a rule that cannot is skipped.
    The test file holds, per rule, the incident's series sampled to ``step`` (at most 720 points, NaN gaps as
    ``_``), expects no alert at two baseline instants and the alert firing at the instant the same evaluation
    first fires on this data.
    """
    rules: list[DerivedRule] = []
    alerting, recording, tests, skipped = [], [], [], []
    steps: list[pd.Timedelta] = []
    for signal in signals:
        rule, grid, why = derive_rule(signal, onset, step=step, service=service, severity=severity,
                                      fire_by=fire_by)
        if rule is None:
            skipped.append(why)
            continue
        rules.append(rule)
        alerting.append(_rule_entry(rule, signal, severity, incident_id))
        if signal.record_expr:
            recording.append({"record": signal.metric, "expr": signal.record_expr})
        steps.append(grid.index[1] - grid.index[0])
        tests.append(_test_case(rule, signal, grid, onset, severity, incident_id))
    groups = ([{"name": f"irlib-{incident_id}-recording", "rules": recording}] if recording else []) + \
        ([{"name": f"irlib-{incident_id}-alerts", "rules": alerting}] if alerting else [])
    interval = prom_duration(min(steps).total_seconds()) if steps else prom_duration(pd.Timedelta(step).total_seconds())
    test_doc = {"rule_files": [rules_file], "evaluation_interval": interval, "tests": tests}
    return AlertRules(_dump({"groups": groups}), _dump(test_doc), rules, skipped)


def _test_case(rule: DerivedRule, signal: RuleSignal, grid: pd.Series, onset: pd.Timestamp, severity: str,
               incident_id: str) -> dict[str, object]:
    start = grid.index[0]
    before = grid.index[grid.index + (grid.index[1] - grid.index[0]) <= onset]  # steps that end by the onset
    quiet = sorted({before[len(before) // 2], before[-1]})
    checks: list[dict[str, object]] = [
        {"eval_time": prom_duration((when - start).total_seconds()), "alertname": rule.alert, "exp_alerts": []}
        for when in quiet]
    assert rule.fires_at is not None
    checks.append({"eval_time": prom_duration((rule.fires_at - start).total_seconds()), "alertname": rule.alert,
                   "exp_alerts": [{"exp_labels": {**dict(signal.labels), "severity": severity},
                                   "exp_annotations": _annotations(rule, signal, incident_id)}]})
    return {"name": f"{rule.alert} on incident {incident_id}",
            "interval": prom_duration((grid.index[1] - grid.index[0]).total_seconds()),
            "input_series": [{"series": selector(signal.metric, signal.labels), "values": _series_values(grid)}],
            "alert_rule_test": checks}


def _dump(doc: object) -> str:
    return yaml.safe_dump(doc, sort_keys=False, width=10_000, allow_unicode=True)
