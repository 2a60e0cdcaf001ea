"""Capacity: usage against limits, time to exhaustion (a leak's predicted OOM time), and the restart pattern.

Metric inputs are ``pd.Series`` of floats indexed by UTC timestamps (e.g. the ``memory_working_set`` signal of
one container, in bytes); limits are plain numbers in the same unit (e.g. ``memory_limit`` or the pods frame's
``memory_limit``).  A leak, and so a predicted OOM, needs evidence (:func:`leak_doubt`): a short or tiny trend is
reported as "no leak established" with the reason.  ``format_*`` show the numbers in MiB/GiB, cores and s/min/h.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..frames import UTC_TS, conform
from .text import counted

RESET_DROP = 0.3        # a fall of this fraction of the series' range is a restart (the fit starts after it)
MIN_FIT_POINTS = 5
TREND_FRACTIONS = (1.0, 0.75, 0.5, 1 / 3, 0.25)
HORIZON_S = 365 * 86400.0  # exhaustion further away than this is not predicted
# A leak is only established from enough evidence: several samples over a few minutes, growth that matters
# against the limit (which also bounds the extrapolation to about 1/MIN_GROWTH_OF_LIMIT observed spans), a good fit.
MIN_LEAK_POINTS = 6
MIN_LEAK_SPAN = pd.Timedelta(minutes=5)
MIN_GROWTH_OF_LIMIT = 0.05
MIN_GROWTH_OF_LEVEL = 0.10   # without a limit: growth against the starting level
MIN_LEAK_R2 = 0.8
UNITS = ("bytes", "cores", "")  # how a resource's numbers are shown: MiB/GiB, CPU cores, plain
CAPACITY_SCHEMA: dict[str, str] = {
    "resource": "string", "current": "float64", "peak": "float64", "limit": "float64", "utilisation": "float64",
    "slope_per_hour": "float64", "r2": "float64", "predicted_exhaustion": UTC_TS, "hours_left": "float64",
    "verdict": "string", "leak": "boolean", "unit": "string",
}


@dataclass
class Exhaustion:
    """The linear trend of a usage series against its limit.

    slope_per_hour in the series' unit; predicted_at is when the fitted line reaches the limit (None when flat,
    falling, without a limit, or when the evidence does not establish a leak); r2 is the fit's coefficient of
    determination; leak is True only when the growth passed :func:`leak_doubt` (enough span, growth and fit).
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
    leak: bool = False
    unit: str = ""


@dataclass
class RestartPattern:
    """Restarts of a container: count, mean interval, coefficient of variation, and whether it looks like a leak."""

    count: int
    mean_interval_s: float | None
    cv: float | None
    regular: bool
    leak_signature: bool
    explanation: str


@dataclass
class TrendFit:
    """A line fitted to usage: slope per second, the fitted value at the last point, r², the samples it used,
    and the growth actually observed (slope × the time spent growing, summed over restart cycles)."""

    slope: float
    fitted_now: float
    r2: float
    first: pd.Timestamp
    last: pd.Timestamp
    points: int
    growth: float
    cycles: int


def _clean(series: pd.Series) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    return values[np.isfinite(values.to_numpy())].sort_index()


def _seconds(index: pd.Index) -> np.ndarray:
    return np.asarray((index - index[0]).total_seconds(), dtype="float64")


def restart_cycles(values: pd.Series) -> list[pd.Series]:
    """The series cut at each restart (a fall of :data:`RESET_DROP` of its range), each cycle without its leading
    samples at or below zero (the container not running yet); empty cycles are left out."""
    raw = values.to_numpy()
    spread = float(raw.max() - raw.min()) if len(raw) else 0.0
    cuts = np.flatnonzero(np.diff(raw) < -RESET_DROP * spread) + 1 if spread > 0 else np.array([], dtype=int)
    cycles = []
    for positions in np.split(np.arange(len(raw)), cuts):
        part = values.iloc[positions]
        running = np.flatnonzero(part.to_numpy() > 0)
        if len(running):
            cycles.append(part.iloc[int(running[0]):])
    return cycles


def linear_fit(values: pd.Series) -> tuple[float, float, float]:
    """(slope per second, intercept at the first point, r²) of ``values`` against time."""
    secs = _seconds(values.index)
    raw = values.to_numpy()
    slope, intercept = np.polyfit(secs, raw, 1)
    residual = raw - (slope * secs + intercept)
    total = float(np.sum((raw - raw.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residual ** 2)) / total if total > 0 else 0.0
    return float(slope), float(intercept), r2


def single_fit(values: pd.Series) -> TrendFit:
    """The line through one run of samples (no restart inside it)."""
    slope, intercept, r2 = linear_fit(values)
    span = (values.index[-1] - values.index[0]).total_seconds()
    return TrendFit(slope, intercept + slope * span, r2, values.index[0], values.index[-1], len(values),
                    slope * span, 1)


def pooled_fit(cycles: Sequence[pd.Series]) -> TrendFit:
    """One slope shared by every restart cycle, each with its own intercept: the growth a leak repeats after
    each OOM kill.  The fitted value at the end is the last cycle's."""
    sxy = sxx = syy = grown_s = 0.0
    for cycle in cycles:
        t, y = _seconds(cycle.index), cycle.to_numpy()
        tc, yc = t - t.mean(), y - y.mean()
        sxy, sxx, syy = sxy + float(tc @ yc), sxx + float(tc @ tc), syy + float(yc @ yc)
        grown_s += float(t[-1])
    slope = sxy / sxx if sxx > 0 else 0.0
    r2 = 1.0 - (syy - slope * sxy) / syy if syy > 0 else 0.0
    last = cycles[-1]
    t_last = _seconds(last.index)
    fitted_now = float(last.mean()) + slope * float(t_last[-1] - t_last.mean())
    return TrendFit(slope, fitted_now, r2, cycles[0].index[0], last.index[-1], sum(len(c) for c in cycles),
                    slope * grown_s, len(cycles))


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


def leak_doubt(fit: TrendFit, limit: float | None, unit: str = "") -> str | None:
    """Why this fit does not establish a leak (None when it does): too few samples, too short a span, no growth,
    a poor fit, or growth too small against the limit (or, without a limit, against the starting level)."""
    span = fit.last - fit.first
    if fit.points < MIN_LEAK_POINTS:
        return f"only {fit.points} samples (a leak needs at least {MIN_LEAK_POINTS})"
    if span < MIN_LEAK_SPAN:
        return (f"the samples span only {format_duration(span.total_seconds())} "
                f"(a leak needs at least {format_duration(MIN_LEAK_SPAN.total_seconds())})")
    if fit.growth <= 1e-9 * max(abs(fit.fitted_now), 1e-12):
        return "not growing"
    if fit.r2 < MIN_LEAK_R2:
        return f"the growth is not steady (r² {fit.r2:.2f} < {MIN_LEAK_R2})"
    grown = f"grew {format_amount(fit.growth, unit)} in {format_duration(span.total_seconds())}"
    if limit and fit.growth < MIN_GROWTH_OF_LIMIT * limit:
        return f"{grown}, under {MIN_GROWTH_OF_LIMIT:.0%} of the {format_amount(limit, unit)} limit"
    start_level = abs(fit.fitted_now - fit.growth)
    if not limit and fit.growth < MIN_GROWTH_OF_LEVEL * start_level:
        return f"{grown}, under {MIN_GROWTH_OF_LEVEL:.0%} of its starting level"
    return None


def best_fit(cycles: Sequence[pd.Series], limit: float | None, *, whole_cycle: bool = False,
             unit: str = "") -> tuple[TrendFit | None, str | None]:
    """The fit that establishes a leak, if any, with the doubt left (None when established): the last restart
    cycle alone first (all of it with ``whole_cycle``, else the trailing part a line fits best), then every cycle
    pooled (an OOM loop shows its leak only across its cycles)."""
    if not cycles:
        return None, None
    last = cycles[-1]
    candidates = [single_fit(last if whole_cycle else _trend_window(last))] \
        if len(last) >= MIN_FIT_POINTS else []
    if len(cycles) >= 2 and sum(len(c) for c in cycles) >= MIN_FIT_POINTS:
        candidates.append(pooled_fit(cycles))
    judged = [(fit, leak_doubt(fit, limit, unit)) for fit in candidates]
    established = [(fit, doubt) for fit, doubt in judged if doubt is None]
    if established or not judged:
        return established[0] if established else (None, None)
    return max(judged, key=lambda pair: pair[0].points)  # the doubt about the fit with the most evidence


def time_to_exhaustion(series: pd.Series, limit: float | None, *, since: pd.Timestamp | None = None,
                       unit: str = "") -> Exhaustion:
    """Fit a line to the series since its last reset (restart) and extrapolate it to ``limit``.

    The fit starts at ``since`` when given (e.g. the onset), else at the trailing window that a line fits best;
    when the container restarts in a loop, one slope is fitted across its restart cycles.  An OOM is predicted
    only for an established leak (:func:`leak_doubt`); otherwise the verdict says "no leak established" and why.
    Already at or over the limit gives predicted_at = the last point and hours_left = 0.  ``unit`` (one of
    :data:`UNITS`) is how the verdict shows the numbers.
    """
    values = _clean(series)
    values = values[values.index >= since] if since is not None else values
    cycles = restart_cycles(values)
    fit, doubt = best_fit(cycles, limit, whole_cycle=since is not None, unit=unit)
    if fit is None:
        points = len(cycles[-1]) if cycles else 0
        return Exhaustion(None, limit, None, None, None, None, None, None, points,
                          f"not enough points to fit a trend ({points} < {MIN_FIT_POINTS})", unit=unit)
    lim = float(limit) if limit is not None and limit == limit and limit > 0 else None
    current = float(cycles[-1].iloc[-1])
    out = Exhaustion(current, lim, current / lim if lim else None, fit.slope * 3600, round(fit.r2, 4), None, None,
                     fit.first, fit.points, "", leak=doubt is None, unit=unit)
    if lim is not None and current >= lim:
        out.predicted_at, out.hours_left, out.verdict = fit.last, 0.0, "already at or over the limit now"
    elif doubt is not None:
        out.verdict = f"no leak established: {doubt}"
    elif lim is None:
        out.verdict = "no limit set: exhaustion cannot be predicted (the container may use all of the node)"
    else:
        _predict(out, fit, lim)
    return out


def _predict(out: Exhaustion, fit: TrendFit, limit: float) -> None:
    """Fill in when the fitted line meets the limit (the fit is an established leak)."""
    secs_left = max(0.0, (limit - fit.fitted_now) / fit.slope)
    if secs_left > HORIZON_S:
        out.verdict = "not growing (or not within a year): no exhaustion predicted"
        return
    out.predicted_at = fit.last + pd.Timedelta(seconds=secs_left)
    out.hours_left = secs_left / 3600
    cycles = f" over {fit.cycles} restart cycles" if fit.cycles > 1 else ""
    out.verdict = (f"growing {format_rate(fit.slope * 3600, out.unit)}, a steady leak{cycles} "
                   f"(r² {fit.r2:.2f}): reaches the limit {format_time_left(out.hours_left)}")


# -- human-readable numbers -------------------------------------------------------------------------------------
def format_amount(value: float | None, unit: str = "") -> str:
    """A quantity as people read it: bytes in B/KiB/MiB/GiB, CPU in cores, anything else in 4 significant digits."""
    if value is None or not np.isfinite(value):
        return "—"
    if unit == "bytes":
        for name, size in (("GiB", 2.0 ** 30), ("MiB", 2.0 ** 20), ("KiB", 2.0 ** 10)):
            if abs(value) >= size:
                return f"{value / size:,.{1 if name != 'GiB' else 2}f} {name}"
        return f"{value:,.0f} B"
    if unit == "cores":
        return f"{value:.3g} cores"
    return f"{value:.4g}"


def format_rate(per_hour: float | None, unit: str = "") -> str:
    """A growth rate per hour in the unit's readable form (``3.21 GiB/h``, ``0.12 cores/h``)."""
    text = format_amount(per_hour, unit)
    return text if text == "—" else f"{text}/h"


def format_duration(seconds: float | None) -> str:
    """Seconds as ``45 s``, ``12 min``, ``2 min 30 s``, ``3.5 h`` or ``4.2 days``."""
    if seconds is None or not np.isfinite(seconds):
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min" + (f" {rest} s" if rest and minutes < 10 else "")
    return f"{seconds / 3600:.1f} h" if seconds < 48 * 3600 else f"{seconds / 86400:.1f} days"


def format_time_left(hours: float | None) -> str:
    """How long until the limit, in words: "already at the limit", "in 54 s", "in 12 min", "in 3.5 h"."""
    if hours is None:
        return "—"
    return "already at the limit" if hours <= 0 else f"in {format_duration(hours * 3600)}"


def restart_pattern(restart_times: Sequence[pd.Timestamp] | pd.Series) -> RestartPattern:
    """The pattern of restarts (e.g. OOMKilled ``last_finished_at`` times, or the times the restart counter rose).

    Regular intervals (cv < 0.3 over at least 3 restarts) are the signature of a leak: memory fills at a steady
    rate and the container is killed each time it reaches its limit.
    """
    times = pd.Series(pd.to_datetime(pd.Series(list(restart_times), dtype=object), utc=True)).dropna()
    times = times.sort_values().drop_duplicates()
    if len(times) < 2:
        return RestartPattern(len(times), None, None, False, False, f"{counted(len(times), 'restart')}: no pattern")
    gaps = times.diff().dropna().dt.total_seconds().to_numpy()
    mean = float(gaps.mean())
    cv = float(gaps.std(ddof=0) / mean) if mean > 0 else None
    regular = bool(len(times) >= 3 and cv is not None and cv < 0.3)
    why = (f"{len(times)} restarts, every {mean / 60:.1f} min on average (cv {cv:.2f}): "
           + ("regular, the signature of a leak" if regular else "irregular, not a leak signature"))
    return RestartPattern(len(times), mean, cv, regular, regular, why)


def capacity_table(usage: Mapping[str, pd.Series], limits: Mapping[str, float | None],
                   units: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per resource (:data:`CAPACITY_SCHEMA`): current, peak, limit, utilisation, trend, exhaustion;
    ``units`` names each resource's unit (:data:`UNITS`) for the verdict and :func:`readable_capacity`."""
    rows = []
    for name, series in usage.items():
        unit = (units or {}).get(name, "")
        fit = time_to_exhaustion(series, limits.get(name), unit=unit)
        clean = _clean(series)
        rows.append({"resource": name, "current": fit.current, "peak": float(clean.max()) if len(clean) else None,
                     "limit": fit.limit, "utilisation": fit.utilisation, "slope_per_hour": fit.slope_per_hour,
                     "r2": fit.r2, "predicted_exhaustion": fit.predicted_at, "hours_left": fit.hours_left,
                     "verdict": fit.verdict, "leak": fit.leak, "unit": unit})
    return conform(pd.DataFrame(rows), CAPACITY_SCHEMA)


def readable_capacity(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`capacity_table` as people read it: each number in its row's unit (MiB/GiB, cores), utilisation in
    percent, growth per hour, the time left in seconds/minutes/hours and the predicted time in UTC."""
    rows = [{"resource": row.resource, "current": format_amount(_num(row.current), row.unit),
             "peak": format_amount(_num(row.peak), row.unit), "limit": format_amount(_num(row.limit), row.unit),
             "of limit": "—" if pd.isna(row.utilisation) else f"{row.utilisation:.0%}",
             "growth": format_rate(_num(row.slope_per_hour), row.unit),
             "fit r²": "—" if pd.isna(row.r2) else f"{row.r2:.2f}",
             "limit reached at": "—" if pd.isna(row.predicted_exhaustion) else
             f"{row.predicted_exhaustion:%Y-%m-%d %H:%M:%S} UTC",
             "time left": format_time_left(_num(row.hours_left)), "verdict": row.verdict}
            for row in table.itertuples(index=False)]
    return pd.DataFrame(rows, columns=["resource", "current", "peak", "limit", "of limit", "growth", "fit r²",
                                       "limit reached at", "time left", "verdict"])


def _num(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def capacity_chart(series: pd.Series, limit: float | None, exhaustion: Exhaustion, *,
                   title: str = "Usage against limit") -> Figure:
    """The usage series, its limit, and the fitted trend extended to the predicted exhaustion (bytes in MiB)."""
    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax = fig.subplots()
    scale, label = (2.0 ** 20, "MiB") if exhaustion.unit == "bytes" else (1.0, exhaustion.unit)
    values = _clean(series)
    ax.plot(values.index, values.to_numpy() / scale, lw=1.2, label="usage")
    if limit:
        ax.axhline(limit / scale, color="tab:red", ls="--", lw=1, label="limit")
    if exhaustion.predicted_at is not None and exhaustion.current is not None and len(values):
        ax.plot([values.index[-1], exhaustion.predicted_at], [exhaustion.current / scale,
                                                              (exhaustion.limit or 0) / scale],
                color="tab:orange", ls=":", lw=1.5, label=f"trend → {exhaustion.predicted_at:%H:%M:%S} UTC")
    if label:
        ax.set_ylabel(label)
    ax.set_title(f"{title}: {exhaustion.verdict}", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    return fig
