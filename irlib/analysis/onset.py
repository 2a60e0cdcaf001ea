"""Since when: change-point detection on metric series (``ruptures`` PELT) and one combined onset estimate.

Inputs are ``pd.Series`` of floats indexed by UTC timestamps (e.g. one ``signal`` of the Prometheus long frame,
``frame[frame.signal == "error_ratio"].set_index("timestamp")["value"]``, or a log template's per-minute count).
NaN gaps are dropped, not interpolated.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import ruptures as rpt
from matplotlib.figure import Figure

MIN_POINTS = 8          # fewer points than this: no change point is claimed
MAX_POINTS = 2000       # longer series are averaged into this many bins before the search
MIN_SHIFT_SIGMA = 4.0   # a segment change smaller than this many noise sigmas is not an onset
PENALTY_FACTOR = 3.0    # pen = PENALTY_FACTOR * sigma_noise^2 * log(n) on the normalised series (BIC-like)
SHARP_Z = 8.0           # the short-change guard: this many noise sigmas away from the baseline median ...
SHARP_RUN = 2           # ... for at least this many consecutive points
SHORT_SEGMENT = 3       # a blip of at most this many points must also clear SHARP_Z (routine flaps are not onsets)
MIN_RELATIVE = 0.05     # ... and a change must move the level by at least 5 % (a 1 % wobble on a very quiet
                        # series is many sigmas but no incident)


@dataclass
class ChangePoint:
    """One change in a series: when, the mean before and after, the shift in noise sigmas, and up/down."""

    time: pd.Timestamp
    before_mean: float
    after_mean: float
    magnitude: float      # (after_mean - before_mean) / noise sigma; signed
    direction: str        # "up" | "down"
    method: str = "pelt"  # "pelt", "sharp-guard" (the short-change guard found it) or "ramp" (moved back to the
                          # knee of a gradual rise: see :func:`ramp_start`)


@dataclass
class Onset:
    """The combined onset: the time (None when no signal changed), a confidence 0..1 and who agrees."""

    time: pd.Timestamp | None
    confidence: float
    agreeing: list[str] = field(default_factory=list)
    per_signal: dict[str, pd.Timestamp | None] = field(default_factory=dict)
    considered: list[str] = field(default_factory=list)
    explanation: str = ""


# How several series of one signal are combined into one (rates add up; ratios, latencies and usage: the worst).
SIGNAL_AGG: dict[str, str] = {"request_rate": "sum", "restarts": "sum", "oom_kills": "sum"}


def signal_series(frame: pd.DataFrame, signal: str, *, agg: str | None = None) -> pd.Series:
    """One signal of the Prometheus long frame (timestamp, series, labels, value, signal) as a single series.

    Several series of the signal (one per pod, say) are combined per timestamp with ``agg`` (default from
    :data:`SIGNAL_AGG`, else ``max``: the worst pod marks the onset).  Empty when the signal is absent.
    """
    rows = frame[frame["signal"] == signal] if "signal" in frame.columns else frame.iloc[0:0]
    if rows.empty:
        return pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC"))
    how = agg or SIGNAL_AGG.get(signal, "max")
    out = pd.to_numeric(rows["value"], errors="coerce").groupby(rows["timestamp"]).agg(how)
    out.index = pd.DatetimeIndex(out.index)
    return out.astype("float64").sort_index()


def event_rate(times: pd.Series, start: pd.Timestamp, end: pd.Timestamp, freq: str = "1min") -> pd.Series:
    """Counts of events (e.g. the log records of one template, or auth failures) per ``freq`` bin over
    [start, end], zeros included, so a template's rate can go through :func:`detect_onset`."""
    stamps = pd.to_datetime(pd.Series(times), utc=True).dropna()
    stamps = stamps[(stamps >= start) & (stamps <= end)]
    bins = pd.date_range(start.floor(freq), end, freq=freq)
    counts = stamps.dt.floor(freq).value_counts()
    return counts.reindex(bins, fill_value=0).astype("float64")


def _clean(series: pd.Series) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    values = values[np.isfinite(values.to_numpy())]
    values = values[~values.index.isna()].sort_index()
    if len(values) > MAX_POINTS:
        bins = np.arange(len(values)) * MAX_POINTS // len(values)
        values = _bin(values, bins)
    return values


def _bin(values: pd.Series, bins: np.ndarray) -> pd.Series:
    first = pd.Series(np.arange(len(values))).groupby(bins).min().to_numpy()
    means = values.groupby(bins).mean().to_numpy()
    return pd.Series(means, index=values.index[first])


def noise_sigma(values: np.ndarray) -> float:
    """Robust noise scale from first differences (MAD / sqrt 2): unaffected by a few level shifts."""
    if len(values) < 3:
        return 0.0
    diffs = np.diff(values)
    mad = float(np.median(np.abs(diffs - np.median(diffs))))
    return 1.4826 * mad / np.sqrt(2.0)


def _scale(values: np.ndarray) -> float:
    sigma = noise_sigma(values)
    if sigma > 0:
        return sigma
    # Mostly-constant series (sparse counts, piecewise-constant levels): the robust estimate is 0, so fall back to
    # the plain standard deviation of the differences (isolated blips then stay small next to a real step).
    return float(np.std(np.diff(values)) / np.sqrt(2.0)) if len(values) > 2 else 0.0


def change_points(series: pd.Series, *, min_relative: float = MIN_RELATIVE) -> list[ChangePoint]:
    """Every significant change in ``series``, in time order (empty for short, flat or steady series).

    PELT with the L2 cost, ``min_size=2`` and ``jump=1`` (no coarse grid that misses short changes) on the series
    divided by its robust noise sigma, with the penalty 3·log n (BIC-like, i.e. σ²·log n before normalising).
    Segments whose means differ by less than 4 noise sigmas are merged (blips of at most 3 points that return
    must clear 8 sigmas: routine scrape flaps are not onsets).  If PELT finds nothing, a guard looks
    for a short sharp run (≥ 2 points ≥ 8 sigmas from the median of what came before).
    """
    values = _clean(series)
    if len(values) < MIN_POINTS:
        return []
    raw = values.to_numpy()
    scale = _scale(raw)
    if scale == 0:
        return []
    signal = (raw - np.median(raw)) / scale
    bkps = rpt.Pelt(model="l2", min_size=2, jump=1).fit(signal).predict(pen=PENALTY_FACTOR * np.log(len(signal)))
    found = _significant(values, raw, bkps[:-1], scale, min_relative)
    if found:
        return [_ramp_adjusted(values, raw, found[0], bkps[:-1]), *found[1:]]
    return _sharp_guard(values, raw, scale, min_relative)


def _significant(values: pd.Series, raw: np.ndarray, cuts: list[int], scale: float,
                 min_relative: float) -> list[ChangePoint]:
    out: list[ChangePoint] = []
    bounds = [0, *cuts, len(raw)]
    start = 0
    for i, cut in enumerate(cuts):
        before = float(np.mean(raw[start:cut]))
        after = float(np.mean(raw[cut:bounds[i + 2]]))
        shift = float((after - before) / scale)
        short = bounds[i + 2] - cut <= SHORT_SEGMENT and bounds[i + 2] < len(raw)
        if abs(shift) >= (SHARP_Z if short else MIN_SHIFT_SIGMA) and _material(before, after, min_relative):
            out.append(ChangePoint(values.index[cut], before, after, shift, "up" if shift > 0 else "down"))
            start = cut
    return out


def ramp_start(raw: np.ndarray, cut: int, end: int) -> int | None:
    """Where a gradual rise (or fall) that a step search first noticed at ``cut`` really began, or None.

    A slow burn crosses any step threshold minutes after it starts: the step search places the change where the
    climb has gone far enough, not where it began.  Over ``raw[:end]`` a hinge (flat, then a straight slope from
    the knee on) is fitted by least squares for every knee up to ``cut``; when the best hinge explains the data
    better than the two-level step at ``cut`` and slopes the same way, its knee is where the change began.
    """
    y = raw[:end].astype("float64")
    n = len(y)
    if cut < 2 or n - cut < 2:
        return None
    step_sse = float(np.sum((y[:cut] - y[:cut].mean()) ** 2) + np.sum((y[cut:] - y[cut:].mean()) ** 2))
    x = np.arange(n, dtype="float64")
    best_sse, best_knee, best_slope = np.inf, -1, 0.0
    for knee in range(2, cut + 1):
        h = np.maximum(0.0, x - knee)
        hc, yc = h - h.mean(), y - y.mean()
        denom = float(hc @ hc)
        if denom == 0:
            continue
        slope = float(hc @ yc) / denom
        sse = float(yc @ yc - slope * slope * denom)
        if sse < best_sse:
            best_sse, best_knee, best_slope = sse, knee, slope
    rising = float(y[cut:].mean() - y[:cut].mean())
    if best_knee < 0 or best_sse >= step_sse or best_slope * rising <= 0 or best_knee >= cut:
        return None
    return best_knee


def _ramp_adjusted(values: pd.Series, raw: np.ndarray, point: ChangePoint, cuts: list[int]) -> ChangePoint:
    """``point`` moved back to the start of its ramp (see :func:`ramp_start`) when the rise was gradual.

    The fit runs up to the first later change the other way (a recovery is not part of the ramp)."""
    cut = int(values.index.get_loc(point.time))
    bounds = [0, *cuts, len(raw)]
    end = len(raw)
    for i in range(1, len(bounds) - 1):
        step = np.mean(raw[bounds[i]:bounds[i + 1]]) - np.mean(raw[bounds[i - 1]:bounds[i]])
        if bounds[i] > cut and step * (point.after_mean - point.before_mean) < 0:
            end = bounds[i]
            break
    knee = ramp_start(raw, cut, end)
    if knee is None:
        return point
    return ChangePoint(values.index[knee], point.before_mean, point.after_mean, point.magnitude, point.direction,
                       "ramp")


def _material(before: float, after: float, min_relative: float) -> bool:
    """Whether a level change is large relative to the level itself (always true from or to zero)."""
    level = max(abs(before), abs(after))
    return level == 0 or abs(after - before) >= min_relative * level


def _sharp_guard(values: pd.Series, raw: np.ndarray, scale: float, min_relative: float) -> list[ChangePoint]:
    for i in range(MIN_POINTS // 2, len(raw) - SHARP_RUN + 1):
        base = float(np.median(raw[:i]))
        run = (raw[i:i + SHARP_RUN] - base) / scale
        after = float(np.mean(raw[i:i + SHARP_RUN]))
        if (np.all(run >= SHARP_Z) or np.all(run <= -SHARP_Z)) and _material(base, after, min_relative):
            shift = float((after - base) / scale)
            return [ChangePoint(values.index[i], base, after, shift, "up" if shift > 0 else "down", "sharp-guard")]
    return []


def detect_onset(series: pd.Series, *, direction: str | None = None,
                 min_relative: float = MIN_RELATIVE) -> ChangePoint | None:
    """The first significant change of ``series`` (optionally only ``"up"`` or ``"down"`` ones), or None."""
    for point in change_points(series, min_relative=min_relative):
        if direction is None or point.direction == direction:
            return point
    return None


def combine_onsets(signals: Mapping[str, pd.Series], agree_within: str | pd.Timedelta = "5min",
                   directions: Mapping[str, str] | None = None,
                   min_relative: Mapping[str, float] | None = None) -> Onset:
    """One onset estimate from several signals (error ratio, latency, memory, template rates ...).

    Each signal's first change point is found; the largest group of signals whose change points lie within
    ``agree_within`` of each other wins (ties: the earliest group), and the onset is the mean of the group's
    change points, so one noisy signal that changes early (latency under load) does not set it alone.
    ``directions`` (signal → "up"/"down") keeps only changes for the worse: a latency drop is no onset;
    ``min_relative`` (signal → fraction) raises the material-change floor for jittery signals (p99 latency).  ``confidence`` = (agreeing / signals with enough data) × mean strength, where a change's strength is
    min(1, |shift| / 12 sigmas).  No change anywhere gives ``time=None`` and confidence 0.
    """
    tolerance = pd.Timedelta(agree_within)
    per_signal: dict[str, pd.Timestamp | None] = {}
    points: dict[str, ChangePoint] = {}
    considered: list[str] = []
    for name, series in signals.items():
        if len(_clean(series)) >= MIN_POINTS:
            considered.append(name)
        point = detect_onset(series, direction=(directions or {}).get(name),
                             min_relative=(min_relative or {}).get(name, MIN_RELATIVE))
        per_signal[name] = point.time if point else None
        if point:
            points[name] = point
    if not points:
        why = "no signal changed significantly" if considered else "no signal had enough data points"
        return Onset(None, 0.0, [], per_signal, considered, why)
    group = _best_group(points, tolerance)
    times = [points[name].time for name in group]
    time = min(times) + (sum((t - min(times) for t in times), pd.Timedelta(0)) / len(times))  # their mean
    strength = float(np.mean([min(1.0, abs(points[n].magnitude) / 12.0) for n in group]))
    confidence = round(len(group) / max(1, len(considered)) * strength, 3)
    looked_at = (f"{len(considered)} signals with enough data" if len(considered) == len(per_signal) else
                 f"{len(considered)} signals with enough data ({len(per_signal)} looked at)")
    why = (f"{len(group)} of the {looked_at} changed within {tolerance.total_seconds() / 60:g} min of "
           f"{time.tz_convert('UTC'):%Y-%m-%d %H:%M:%S} UTC: " + ", ".join(sorted(group)))
    return Onset(time, confidence, sorted(group), per_signal, considered, why)


def _best_group(points: Mapping[str, ChangePoint], tolerance: pd.Timedelta) -> list[str]:
    ordered = sorted(points, key=lambda n: points[n].time)
    best: list[str] = []
    for i, anchor in enumerate(ordered):
        group = [n for n in ordered[i:] if points[n].time - points[anchor].time <= tolerance]
        if len(group) > len(best):
            best = group
    return best


def onset_chart(signals: Mapping[str, pd.Series], onset: Onset | None, *, title: str = "Onset") -> Figure:
    """One panel per signal with the combined onset (and each signal's own change point) marked."""
    names = list(signals) or ["(no signal)"]
    fig = Figure(figsize=(10, 1.9 * len(names) + 0.6), layout="constrained")
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    for ax, name in zip(axes, names):
        series = _clean(signals[name]) if name in signals else pd.Series(dtype="float64")
        ax.plot(series.index, series.to_numpy(), lw=1.2)
        ax.set_ylabel(name, fontsize=8)
        own = onset.per_signal.get(name) if onset else None
        if own is not None:
            ax.axvline(own, color="tab:orange", ls=":", lw=1)
        if onset is not None and onset.time is not None:
            ax.axvline(onset.time, color="tab:red", lw=1.5)
    label = f"onset {onset.time:%Y-%m-%d %H:%M:%S} UTC (confidence {onset.confidence:.2f})" \
        if onset is not None and onset.time is not None else "no onset detected"
    fig.suptitle(f"{title}: {label}", fontsize=10)
    return fig
