"""Stabilization: is the service really back?  Metrics inside the pre-incident band, pods ready, backlogs
draining (with an ETA) and the data-consistency checks summarised.

Metric inputs are ``pd.Series`` indexed by UTC timestamps covering both the pre-incident baseline and the recent
period.  The pods frame is the Kubernetes source's (one row per container: ``pod``, ``pod_ready``).  Check results
are a frame with ``name``, ``ok`` (boolean, null when the check could not run) and ``detail``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .capacity import linear_fit

INSIDE_REQUIRED = 0.9   # fraction of recent points inside the band for a metric to count as recovered
# a band narrower than this share of the baseline median each side is jitter, too narrow to judge recovery by
RELATIVE_FLOOR = 0.1
MIB = 2.0 ** 20


@dataclass
class MetricRecovery:
    """One metric: the baseline band (quantiles, widened by a margin), the recent median and the verdict."""

    name: str
    band_low: float | None
    band_high: float | None
    recent_median: float | None
    inside_fraction: float | None
    recovered: bool | None
    detail: str
    unit: str = ""  # "ratio", "seconds", "bytes" or "" (see :func:`unit_of`)


@dataclass
class BacklogDrain:
    """A queue/backlog: its current size, the fitted slope per minute and when it is expected to be empty."""

    current: float | None
    slope_per_min: float | None
    eta: pd.Timestamp | None
    draining: bool
    detail: str


@dataclass
class Recovery:
    """The overall verdict and its parts; ``missing`` names what could not be verified."""

    recovered: bool
    metrics: list[MetricRecovery] = field(default_factory=list)
    pods_ready_fraction: float | None = None
    backlog: BacklogDrain | None = None
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    checks_not_run: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _clean(series: pd.Series) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    return values[np.isfinite(values.to_numpy())].sort_index()


def baseline_band(base: pd.Series, quantiles: tuple[float, float] = (0.05, 0.95)) -> tuple[float, float]:
    """The normal band of a pre-incident series: its [q05, q95] widened by 10% of the band's width and 5% of its
    median (so a perfectly flat baseline still has a band).  Step 08 calls a metric recovered inside it, and step
    10's alert thresholds are kept outside it."""
    low, high = (float(base.quantile(q)) for q in quantiles)
    margin = max(0.1 * (high - low), 0.05 * abs(float(base.median())), 1e-12)
    return low - margin, high + margin


def recovery_band(base: pd.Series, quantiles: tuple[float, float] = (0.05, 0.95)) -> tuple[float, float]:
    """The band step 08 judges recovery by: :func:`baseline_band`, widened to at least ±``RELATIVE_FLOOR`` of
    the baseline median (a 3 ms band around 24 ms p99 latency calls ordinary jitter a failure to recover)."""
    low, high = baseline_band(base, quantiles)
    median = float(base.median())
    floor = RELATIVE_FLOOR * abs(median)
    return min(low, median - floor), max(high, median + floor)


def unit_of(name: str) -> str:
    """The unit of a signal, from its name: ratios, latencies in seconds, memory in bytes, requests per second,
    CPU cores; "" when unknown."""
    if "ratio" in name:
        return "ratio"
    if name.startswith("latency"):
        return "seconds"
    if name.startswith("memory"):
        return "bytes"
    if name.startswith("request_rate"):
        return "req/s"
    if name.startswith("cpu"):
        return "cores"
    return ""


def value_text(value: float, unit: str) -> str:
    """A value as people read it: ratios in %, seconds in ms (or s from 1 s), bytes in MiB, a zero ratio as
    ``0%``; other units as 4 significant digits and the unit."""
    if unit in ("ratio", "seconds", "bytes"):
        value = max(value, 0.0)  # none of these can be negative: a band edge below 0 is the margin's artefact
    if unit == "ratio":
        if abs(value) < 1e-9:
            return "0%"
        text = f"{value * 100:.1f}%"
        return text if text != "0.0%" else f"{value * 100:.2g}%"
    if unit == "seconds":
        return f"{value:.2f} s" if value >= 1 else ("0 ms" if value < 1e-9 else f"{value * 1000:.1f} ms")
    if unit == "bytes":
        return f"{value / MIB:.1f} MiB"
    return f"{band_edge_text(value)} {unit}" if unit else band_edge_text(value)


def band_text(low: float, high: float, unit: str) -> str:
    """A band as ``[23.0 ms, 26.1 ms]``, or one value when both edges read the same (a zero band is ``0%``)."""
    lo, hi = value_text(low, unit), value_text(high, unit)
    return lo if lo == hi else f"[{lo}, {hi}]"


def band_edge_text(value: float) -> str:
    """A band edge as text: 4 significant digits, and the hair-width margin around a zero baseline as 0."""
    return "0" if abs(value) < 1e-9 else f"{value:.4g}"


def metric_recovery(name: str, series: pd.Series, baseline: tuple[pd.Timestamp, pd.Timestamp], since: pd.Timestamp,
                    *, quantiles: tuple[float, float] = (0.05, 0.95)) -> MetricRecovery:
    """Whether the points from ``since`` on lie inside the baseline's band (:func:`recovery_band`)."""
    values = _clean(series)
    base = values[(values.index >= baseline[0]) & (values.index <= baseline[1])]
    recent = values[values.index >= since]
    if len(base) < 3 or recent.empty:
        return MetricRecovery(name, None, None, None, None, None,
                              f"not enough data ({len(base)} baseline points, {len(recent)} recent points)")
    low, high = recovery_band(base, quantiles)
    inside = float(((recent >= low) & (recent <= high)).mean())
    ok = inside >= INSIDE_REQUIRED
    unit = unit_of(name)
    detail = (f"{inside * 100:.0f}% of {len(recent)} recent points inside the pre-incident band "
              f"{band_text(low, high, unit)} (need {INSIDE_REQUIRED * 100:.0f}%; recent median "
              f"{value_text(float(recent.median()), unit)})")
    return MetricRecovery(name, low, high, float(recent.median()), inside, ok, detail, unit)


def backlog_drain(series: pd.Series, *, last: str | pd.Timedelta = "15min") -> BacklogDrain:
    """Fit the last ``last`` of a backlog series; a falling line gives the time it reaches zero."""
    values = _clean(series)
    if values.empty:
        return BacklogDrain(None, None, None, False, "no backlog data")
    recent = values[values.index >= values.index[-1] - pd.Timedelta(last)]
    current = float(values.iloc[-1])
    if current <= 0:
        return BacklogDrain(current, 0.0, values.index[-1], True, "backlog is empty")
    if len(recent) < 3:
        return BacklogDrain(current, None, None, False, f"only {len(recent)} recent points: no trend")
    slope, _, r2 = linear_fit(recent)
    per_min = slope * 60
    if slope >= 0:
        return BacklogDrain(current, per_min, None, False, f"not draining: {per_min:+.4g}/min")
    eta = values.index[-1] + pd.Timedelta(seconds=current / -slope)
    return BacklogDrain(current, per_min, eta, True,
                        f"draining {-per_min:.4g}/min (r² {r2:.2f}): empty at about {eta:%H:%M} UTC")


def pods_ready_fraction(pods: pd.DataFrame | None) -> float | None:
    """Fraction of pods whose ``pod_ready`` is true (one row per container, so pods are de-duplicated)."""
    if pods is None or pods.empty or "pod_ready" not in pods.columns:
        return None
    per_pod = pods.groupby("pod")["pod_ready"].first().fillna(False).astype(bool)
    return float(per_pod.mean())


def verify_recovery(signals: Mapping[str, pd.Series], baseline: tuple[pd.Timestamp, pd.Timestamp],
                    since: pd.Timestamp, *, pods: pd.DataFrame | None = None, backlog: pd.Series | None = None,
                    checks: pd.DataFrame | None = None) -> Recovery:
    """Recovered when every measured metric is back in its band, all pods are ready, any backlog is draining or
    empty, and no consistency check failed.  What was not measured is listed in ``missing`` (and a verdict with
    nothing measured is not a recovery)."""
    out = Recovery(False, metrics=[metric_recovery(n, s, baseline, since) for n, s in signals.items()])
    out.pods_ready_fraction = pods_ready_fraction(pods)
    out.backlog = backlog_drain(backlog) if backlog is not None else None
    _summarise_checks(out, checks)
    blockers = [f"{m.name} not back in band: {m.detail}" for m in out.metrics if m.recovered is False]
    out.missing += [f"{m.name}: {m.detail}" for m in out.metrics if m.recovered is None]
    if out.pods_ready_fraction is None:
        out.missing.append("pod readiness (no pods frame)")
    elif out.pods_ready_fraction < 1.0:
        blockers.append(f"only {out.pods_ready_fraction * 100:.0f}% of pods are ready")
    if out.backlog is not None and not out.backlog.draining:
        blockers.append(f"backlog {out.backlog.detail}")
    blockers += [f"consistency check failed: {name}" for name in out.checks_failed]
    # Pods alone do not prove recovery when metrics were asked for but could not be measured.
    measured = any(m.recovered is not None for m in out.metrics) if out.metrics else out.pods_ready_fraction is not None
    out.recovered = measured and not blockers
    out.reasons = blockers or ([f"{m.name}: {m.detail}" for m in out.metrics if m.recovered]
                               + (["all pods ready"] if out.pods_ready_fraction == 1.0 else [])
                               + ([f"backlog {out.backlog.detail}"] if out.backlog else []))
    if not measured:
        out.reasons = ["nothing could be measured: recovery is not verified"]
    return out


def _summarise_checks(out: Recovery, checks: pd.DataFrame | None) -> None:
    if checks is None or checks.empty:
        return
    for row in checks.itertuples(index=False):
        if pd.isna(row.ok):
            out.checks_not_run.append(str(row.name))
        elif bool(row.ok):
            out.checks_passed += 1
        else:
            out.checks_failed.append(f"{row.name} ({row.detail})" if pd.notna(row.detail) else str(row.name))
    out.missing += [f"consistency check not run: {name}" for name in out.checks_not_run]
