"""Capacity: usage against limits, time to exhaustion (a leak's predicted OOM time), and the restart pattern.

Metric inputs are ``pd.Series`` of floats indexed by UTC timestamps (e.g. the ``memory_working_set`` signal of
one container, in bytes); limits are plain numbers in the same unit (e.g. ``memory_limit`` or the pods frame's
``memory_limit``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..frames import UTC_TS, conform

RESET_DROP = 0.3        # a fall of this fraction of the series' range is a restart (the fit starts after it)
MIN_FIT_POINTS = 5
TREND_FRACTIONS = (1.0, 0.75, 0.5, 1 / 3, 0.25)
HORIZON_S = 365 * 86400.0  # exhaustion further away than this is not predicted
CAPACITY_SCHEMA: dict[str, str] = {
    "resource": "string", "current": "float64", "peak": "float64", "limit": "float64", "utilisation": "float64",
    "slope_per_hour": "float64", "r2": "float64", "predicted_exhaustion": UTC_TS, "hours_left": "float64",
    "verdict": "string",
}


@dataclass
class Exhaustion:
    """The linear trend of a usage series against its limit.

    slope_per_hour in the series' unit; predicted_at is when the fitted line reaches the limit (None when flat,
    falling, without a limit or without enough points); r2 is the fit's coefficient of determination.
    """

    current: float | None
    limit: float | None
    utilisation: float | None
    slope_per_hour: float | None
    r2: float | None
    predicted_at: pd.Timestamp | None
    hours_left: float | None
    fitted_from: pd.Timestamp | None
    points: int
    verdict: str


@dataclass
class RestartPattern:
    """Restarts of a container: count, mean interval, coefficient of variation, and whether it looks like a leak."""

    count: int
    mean_interval_s: float | None
    cv: float | None
    regular: bool
    leak_signature: bool
    explanation: str


def _clean(series: pd.Series) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    return values[np.isfinite(values.to_numpy())].sort_index()


def _since_last_reset(values: pd.Series) -> pd.Series:
    raw = values.to_numpy()
    spread = float(raw.max() - raw.min()) if len(raw) else 0.0
    if spread <= 0:
        return values
    drops = np.flatnonzero(np.diff(raw) < -RESET_DROP * spread)
    return values.iloc[int(drops[-1]) + 1:] if len(drops) else values


def linear_fit(values: pd.Series) -> tuple[float, float, float]:
    """(slope per second, intercept at the first point, r²) of ``values`` against time."""
    secs = (values.index - values.index[0]).total_seconds().to_numpy(dtype="float64")
    raw = values.to_numpy()
    slope, intercept = np.polyfit(secs, raw, 1)
    residual = raw - (slope * secs + intercept)
    total = float(np.sum((raw - raw.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residual ** 2)) / total if total > 0 else 0.0
    return float(slope), float(intercept), r2


def _trend_window(values: pd.Series) -> pd.Series:
    """The trailing part of ``values`` that a line fits best (a leak that started mid-window is fitted from where
    it started, not diluted by the flat part before it): the best r² among the last 100/75/50/33/25%."""
    best, best_r2 = values, -1.0
    for fraction in TREND_FRACTIONS:
        part = values.iloc[len(values) - max(MIN_FIT_POINTS, int(len(values) * fraction)):]
        if len(part) < MIN_FIT_POINTS:
            continue
        r2 = linear_fit(part)[2]
        if r2 > best_r2 + 1e-9:
            best, best_r2 = part, r2
    return best


def time_to_exhaustion(series: pd.Series, limit: float | None, *, since: pd.Timestamp | None = None) -> Exhaustion:
    """Fit a line to the series since its last reset (restart) and extrapolate it to ``limit``.

    The fit starts at ``since`` when given (e.g. the onset), else at the trailing window that a line fits best.
    A leak shows as a rising line with a high r²; the predicted OOM time is where the line meets the limit.
    Already at or over the limit gives predicted_at = the last point and hours_left = 0.
    """
    values = _since_last_reset(_clean(series))
    values = values[values.index >= since] if since is not None else _trend_window(values)
    if len(values) < MIN_FIT_POINTS:
        return Exhaustion(None, limit, None, None, None, None, None, None, len(values),
                          f"not enough points to fit a trend ({len(values)} < {MIN_FIT_POINTS})")
    slope, intercept, r2 = linear_fit(values)
    current = float(values.iloc[-1])
    lim = float(limit) if limit is not None and limit == limit and limit > 0 else None
    util = current / lim if lim else None
    base = Exhaustion(current, lim, util, slope * 3600, round(r2, 4), None, None, values.index[0], len(values), "")
    if lim is None:
        base.verdict = "no limit set: exhaustion cannot be predicted (the container may use all of the node)"
    elif current >= lim:
        base.predicted_at, base.hours_left, base.verdict = values.index[-1], 0.0, "at or over the limit now"
    else:
        span = (values.index[-1] - values.index[0]).total_seconds()
        fitted_now = intercept + slope * span
        secs_left = (lim - fitted_now) / slope if slope > 0 else float("inf")
        if slope * span <= 1e-9 * max(abs(current), 1e-12) or secs_left > HORIZON_S:
            base.verdict = "not growing (or not within a year): no exhaustion predicted"
            return base
        secs_left = max(0.0, secs_left)
        base.predicted_at = values.index[-1] + pd.Timedelta(seconds=secs_left)
        base.hours_left = secs_left / 3600
        quality = "a steady leak" if r2 >= 0.8 else "a noisy trend (low confidence)"
        base.verdict = f"growing {slope * 3600:.4g}/h, {quality}: reaches the limit in {secs_left / 3600:.1f} h"
    return base


def restart_pattern(restart_times: Sequence[pd.Timestamp] | pd.Series) -> RestartPattern:
    """The pattern of restarts (e.g. OOMKilled ``last_finished_at`` times, or the times the restart counter rose).

    Regular intervals (cv < 0.3 over at least 3 restarts) are the signature of a leak: memory fills at a steady
    rate and the container is killed each time it reaches its limit.
    """
    times = pd.Series(pd.to_datetime(pd.Series(list(restart_times), dtype=object), utc=True)).dropna()
    times = times.sort_values().drop_duplicates()
    if len(times) < 2:
        return RestartPattern(len(times), None, None, False, False, f"{len(times)} restart(s): no pattern")
    gaps = times.diff().dropna().dt.total_seconds().to_numpy()
    mean = float(gaps.mean())
    cv = float(gaps.std(ddof=0) / mean) if mean > 0 else None
    regular = bool(len(times) >= 3 and cv is not None and cv < 0.3)
    why = (f"{len(times)} restarts, every {mean / 60:.1f} min on average (cv {cv:.2f}): "
           + ("regular, the signature of a leak" if regular else "irregular, not a leak signature"))
    return RestartPattern(len(times), mean, cv, regular, regular, why)


def capacity_table(usage: Mapping[str, pd.Series], limits: Mapping[str, float | None]) -> pd.DataFrame:
    """One row per resource (:data:`CAPACITY_SCHEMA`): current, peak, limit, utilisation, trend, exhaustion."""
    rows = []
    for name, series in usage.items():
        fit = time_to_exhaustion(series, limits.get(name))
        clean = _clean(series)
        rows.append({"resource": name, "current": fit.current, "peak": float(clean.max()) if len(clean) else None,
                     "limit": fit.limit, "utilisation": fit.utilisation, "slope_per_hour": fit.slope_per_hour,
                     "r2": fit.r2, "predicted_exhaustion": fit.predicted_at, "hours_left": fit.hours_left,
                     "verdict": fit.verdict})
    return conform(pd.DataFrame(rows), CAPACITY_SCHEMA)


def capacity_chart(series: pd.Series, limit: float | None, exhaustion: Exhaustion, *,
                   title: str = "Usage against limit") -> Figure:
    """The usage series, its limit, and the fitted trend extended to the predicted exhaustion."""
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax = fig.subplots()
    values = _clean(series)
    ax.plot(values.index, values.to_numpy(), lw=1.2, label="usage")
    if limit:
        ax.axhline(limit, color="tab:red", ls="--", lw=1, label="limit")
    if exhaustion.predicted_at is not None and exhaustion.current is not None and len(values):
        ax.plot([values.index[-1], exhaustion.predicted_at], [exhaustion.current, exhaustion.limit or 0],
                color="tab:orange", ls=":", lw=1.5, label=f"trend → {exhaustion.predicted_at:%H:%M} UTC")
    ax.set_title(f"{title}: {exhaustion.verdict}", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    return fig
