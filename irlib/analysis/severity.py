"""Severity P0 / P1 / P2 as the runbook defines it, decided from the evidence, with the reasons listed.

P0: complete outage, data loss or breach, revenue-critical feature down.  P1: major degradation, significant user
impact, exposed vulnerability.  P2: minor, limited impact, workaround available.  An override from the parameters
(``severity_override``) wins and is shown as such.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..incident import DEFAULT_THRESHOLDS

RESPONSE_TIME = {"P0": "15 min", "P1": "1 h", "P2": "4 h"}
UPDATE_CADENCE = {"P0": "every 30 min", "P1": "every 1 h", "P2": "every 4 h"}
UPDATE_MINUTES = {"P0": 30, "P1": 60, "P2": 240}


@dataclass
class SeverityInputs:
    """The evidence severity is decided from; None means "not measured" (never taken as healthy or broken).

    peak_error_ratio: highest 5xx/total ratio in the incident window (0..1); availability: ready fraction of the
    service's pods or a success ratio (0..1, lowest seen); affected_fraction: fraction of users or requests
    affected (0..1); services_down: services with no ready replica; breach_suspected / data_loss /
    vulnerability_exposed: from the security and database steps; revenue_critical: the service is marked
    revenue-critical in the parameters; workaround: a workaround is known; p99_latency_s: peak p99 latency.
    """

    peak_error_ratio: float | None = None
    availability: float | None = None
    affected_fraction: float | None = None
    services_down: list[str] = field(default_factory=list)
    breach_suspected: bool = False
    data_loss: bool = False
    vulnerability_exposed: bool = False
    revenue_critical: bool = False
    workaround: bool = False
    p99_latency_s: float | None = None


@dataclass
class Severity:
    """The decision: level, the reasons, whether the override decided it, response time and update cadence."""

    level: str
    reasons: list[str]
    overridden: bool
    response_time: str
    update_cadence: str
    update_minutes: int
    evidence_level: str  # what the evidence alone says (equal to level unless overridden)


def classify_severity(evidence: SeverityInputs, thresholds: Mapping[str, float] | None = None,
                      override: str | None = None) -> Severity:
    """Decide P0/P1/P2 from ``evidence`` with ``thresholds`` (keys of ``DEFAULT_THRESHOLDS``); ``override`` wins."""
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    p0, p1 = _p0_reasons(evidence, limits), _p1_reasons(evidence, limits)
    if p0:
        level, reasons = "P0", p0
    elif p1:
        level, reasons = "P1", p1
    else:
        level, reasons = "P2", _p2_reasons(evidence)
    evidence_level = level
    if override:
        if override not in RESPONSE_TIME:
            raise ValueError(f"severity override must be P0, P1 or P2, got {override!r}")
        reasons = [f"overridden to {override} by the parameters (the evidence alone says {level})", *reasons]
        level = override
    return Severity(level, reasons, bool(override), RESPONSE_TIME[level], UPDATE_CADENCE[level],
                    UPDATE_MINUTES[level], evidence_level)


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _p0_reasons(e: SeverityInputs, t: Mapping[str, float]) -> list[str]:
    out: list[str] = []
    if e.availability is not None and e.availability <= t["availability_p0"]:
        out.append(f"complete or near-complete outage: availability {_pct(e.availability)} "
                   f"(at or below {_pct(t['availability_p0'])})")
    if e.peak_error_ratio is not None and e.peak_error_ratio >= t["error_ratio_p0"]:
        out.append(f"error ratio peaked at {_pct(e.peak_error_ratio)} (at or above {_pct(t['error_ratio_p0'])}: "
                   "effectively an outage)")
    if e.services_down:
        out.append(f"services down (no ready replica): {', '.join(sorted(e.services_down))}")
    if e.data_loss:
        out.append("data loss established")
    if e.breach_suspected:
        out.append("security breach suspected")
    down = bool(out) or (e.peak_error_ratio is not None and e.peak_error_ratio >= t["error_ratio_p1"])
    if e.revenue_critical and down and not any("revenue" in r for r in out):
        out.append("a revenue-critical feature is down or failing")
    return out


def _p1_reasons(e: SeverityInputs, t: Mapping[str, float]) -> list[str]:
    out: list[str] = []
    if e.peak_error_ratio is not None and e.peak_error_ratio >= t["error_ratio_p1"]:
        out.append(f"major degradation: error ratio peaked at {_pct(e.peak_error_ratio)} "
                   f"(at or above {_pct(t['error_ratio_p1'])})")
    if e.affected_fraction is not None and e.affected_fraction >= t["users_affected_p1"]:
        out.append(f"significant user impact: {_pct(e.affected_fraction)} of users/requests affected")
    if e.p99_latency_s is not None and e.p99_latency_s > t["latency_p99_s"]:
        out.append(f"p99 latency {e.p99_latency_s:.2f} s above {t['latency_p99_s']:.2f} s")
    if e.vulnerability_exposed:
        out.append("an exposed vulnerability")
    if e.workaround and out:
        out.append("a workaround exists but the impact is still major")
    return out


def _p2_reasons(e: SeverityInputs) -> list[str]:
    out = ["minor or limited impact: no P0 or P1 criterion is met"]
    if e.workaround:
        out.append("a workaround is available")
    unknown = [name for name, value in (("error ratio", e.peak_error_ratio), ("availability", e.availability),
                                        ("affected fraction", e.affected_fraction)) if value is None]
    if unknown:
        out.append(f"not measured: {', '.join(unknown)} (severity may be higher once known)")
    return out
