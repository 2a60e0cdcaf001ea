"""Canary against baseline: error ratio and latency compared with Mann-Whitney U, a verdict and the gates used.

Samples are per-interval values over the same period for the canary and the baseline (e.g. the per-minute
``error_ratio`` and ``latency_p99`` signals of each deployment's pods), or raw request latencies.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

from ..incident import DEFAULT_THRESHOLDS

Samples = Sequence[float] | pd.Series | np.ndarray


@dataclass
class CanaryGates:
    """The health gates: tolerated worsening, hard ceilings, significance level and minimum sample count.

    The ceilings are the incident parameters' thresholds (:meth:`from_thresholds`): the canary's median error
    ratio above ``thresholds.error_ratio_p1`` or its median p99 latency above ``thresholds.latency_p99_s`` fails.
    """

    max_error_ratio_increase: float = 0.01   # absolute (1 percentage point) over the baseline's median
    error_ratio_ceiling: float = DEFAULT_THRESHOLDS["error_ratio_p1"]
    max_latency_ratio: float = 1.2           # canary median latency / baseline median latency
    latency_ceiling_s: float | None = DEFAULT_THRESHOLDS["latency_p99_s"]
    alpha: float = 0.05
    min_samples: int = 5

    @classmethod
    def from_thresholds(cls, thresholds: Mapping[str, float]) -> CanaryGates:
        """The gates whose ceilings are the incident's ``error_ratio_p1`` and ``latency_p99_s`` thresholds."""
        return cls(error_ratio_ceiling=float(thresholds.get("error_ratio_p1", DEFAULT_THRESHOLDS["error_ratio_p1"])),
                   latency_ceiling_s=float(thresholds.get("latency_p99_s", DEFAULT_THRESHOLDS["latency_p99_s"])))


@dataclass
class Gate:
    """One gate's outcome: "pass", "hold" (not enough evidence) or "fail" (a rollback trigger).

    ``limit`` is the tolerated worsening over the baseline (an absolute increase, or a ratio for latency);
    ``ceiling`` the hard bound on the canary's median, whatever the baseline.
    """

    name: str
    canary_value: float | None
    baseline_value: float | None
    limit: float
    p_value: float | None
    outcome: str
    detail: str
    ceiling: float | None = None


@dataclass
class CanaryVerdict:
    """promote (every gate passes), hold (some gate lacks evidence) or rollback (some gate fails)."""

    verdict: str
    gates: list[Gate] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def _values(samples: Samples | None) -> np.ndarray:
    arr = pd.to_numeric(pd.Series(samples if samples is not None else [], dtype="float64"), errors="coerce")
    arr = arr.to_numpy(dtype="float64")
    return arr[np.isfinite(arr)]


def _worse_p(canary: np.ndarray, baseline: np.ndarray) -> float:
    """One-sided Mann-Whitney U p-value for "the canary's values are greater than the baseline's"."""
    if np.ptp(np.concatenate([canary, baseline])) == 0:
        return 1.0
    return float(mannwhitneyu(canary, baseline, alternative="greater").pvalue)


def _shown(value: float, ratio: bool) -> str:
    """An error ratio as a percentage, a latency in seconds."""
    return f"{value:.3g} s" if ratio else f"{value:.1%}"


def _gate(name: str, canary: np.ndarray, baseline: np.ndarray, gates: CanaryGates, *, ratio: bool,
          limit: float, ceiling: float | None = None) -> Gate:
    if min(len(canary), len(baseline)) < gates.min_samples:
        return Gate(name, None, None, limit, None, "hold",
                    f"not enough samples ({len(canary)} canary, {len(baseline)} baseline; need {gates.min_samples})",
                    ceiling)
    c, b = float(np.median(canary)), float(np.median(baseline))
    p = _worse_p(canary, baseline)
    worsening = (c / b if b > 0 else (1.0 if c == 0 else float("inf"))) if ratio else c - b
    over = worsening > limit
    unit = (f"ratio {worsening:.2f} (limit {limit:.2f})" if ratio else
            f"{worsening * 100:+.1f} points (limit +{limit * 100:.1f} points)")
    if ceiling is not None and c > ceiling:
        return Gate(name, c, b, limit, p, "fail", f"canary median {_shown(c, ratio)} above the ceiling "
                    f"{_shown(ceiling, ratio)}", ceiling)
    if over and p < gates.alpha:
        return Gate(name, c, b, limit, p, "fail", f"canary significantly worse: {unit}, p={p:.3g}", ceiling)
    if over:
        return Gate(name, c, b, limit, p, "hold", f"worse by {unit} but not significant (p={p:.3g}): keep watching",
                    ceiling)
    return Gate(name, c, b, limit, p, "pass", f"within tolerance: {unit}, p={p:.3g}", ceiling)


def compare_canary(canary_error_ratio: Samples, baseline_error_ratio: Samples, canary_latency: Samples | None = None,
                   baseline_latency: Samples | None = None, gates: CanaryGates | None = None) -> CanaryVerdict:
    """The verdict on a canary from its error ratio and latency samples against the baseline's.

    A gate fails when the canary is worse beyond the tolerance and Mann-Whitney U (one-sided, canary greater) is
    significant at ``alpha``, or when the canary's median is above its ceiling; it holds when there are too
    few samples or the worsening is not significant.  Latency is only gated when both latency samples are given.
    """
    g = gates or CanaryGates()
    results = [_gate("error_ratio", _values(canary_error_ratio), _values(baseline_error_ratio), g, ratio=False,
                     limit=g.max_error_ratio_increase, ceiling=g.error_ratio_ceiling)]
    if canary_latency is not None and baseline_latency is not None:
        results.append(_gate("latency", _values(canary_latency), _values(baseline_latency), g, ratio=True,
                             limit=g.max_latency_ratio, ceiling=g.latency_ceiling_s))
    outcomes = {gate.outcome for gate in results}
    verdict = "rollback" if "fail" in outcomes else ("hold" if "hold" in outcomes else "promote")
    reasons = [f"{gate.name}: {gate.outcome}: {gate.detail}" for gate in results]
    return CanaryVerdict(verdict, results, reasons)
