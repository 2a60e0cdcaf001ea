"""Step 07: canary (the current revision since its rollout) against baseline (the period before it),
health gates, rollback triggers, and the rollout commands (shown, never run)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from ..display import Answer
from ..investigation import Investigation
from . import common

if TYPE_CHECKING:
    from ..analysis.canary import CanaryGates, Gate


def _current_rollout(inv: Investigation) -> pd.Series | None:
    history = common.rollouts(inv)
    if history.empty:
        return None
    current = history[history["current"].fillna(False).astype(bool)]
    return (current if len(current) else history).sort_values("created_at").iloc[-1]


def canary(inv: Investigation) -> Answer:
    from ..analysis.canary import CanaryGates, compare_canary

    ans = Answer("Canary against baseline: error ratio and latency")
    rollout = _current_rollout(inv)
    ratio = common.signal_series(inv, "error_ratio", "max")
    p99 = common.signal_series(inv, "latency_p99", "max")
    if rollout is None or pd.isna(rollout["created_at"]):
        return ans.lack("no rollout in the history: nothing to compare" + _gap_suffix(inv))
    if not len(ratio):
        return ans.lack("error ratio: " + (common.signal_gap(inv, "error_ratio") or "no series"))
    cut = rollout["created_at"]
    after, before = ratio[ratio.index >= cut], ratio[ratio.index < cut]
    span = after.index.max() - after.index.min() if len(after) else pd.Timedelta(0)
    before = before[before.index >= cut - span] if len(before) else before
    verdict = compare_canary(after.to_numpy(), before.to_numpy(),
                             p99[p99.index >= cut].to_numpy() if len(p99) else None,
                             p99[(p99.index < cut) & (p99.index >= cut - span)].to_numpy() if len(p99) else None,
                             gates=CanaryGates.from_thresholds(inv.incident.thresholds))
    ans.say(f"Canary = {rollout['kind']}/{rollout['name']} revision {rollout['revision']} since "
            f"{common.fmt_ts(cut)} ({len(after)} samples); baseline = the {len(before)} samples before it. "
            f"Verdict: {verdict.verdict.upper()}.")
    for reason in verdict.reasons:
        ans.say(f"• {reason}")
    inv.record("canary", verdict, summary=verdict.verdict)
    return ans.table("Gates", gate_outcomes(verdict.gates))


def gate_outcomes(gates: Sequence[Gate]) -> pd.DataFrame:
    """One readable row per evaluated gate: error ratios in percent, latencies in seconds, the tolerance and the
    ceiling the outcome was decided against."""
    rows = []
    for g in gates:
        latency = g.name == "latency"
        rows.append({"gate": g.name, "canary (median)": _shown(g.canary_value, latency),
                     "baseline (median)": _shown(g.baseline_value, latency),
                     "tolerance": f"×{g.limit:.2f}" if latency else f"+{g.limit * 100:.1f} points",
                     "ceiling": _shown(g.ceiling, latency), "p-value": "—" if g.p_value is None else f"{g.p_value:.3g}",
                     "outcome": g.outcome, "detail": g.detail})
    return pd.DataFrame(rows, columns=["gate", "canary (median)", "baseline (median)", "tolerance", "ceiling",
                                       "p-value", "outcome", "detail"])


def _shown(value: float | None, latency: bool) -> str:
    if value is None:
        return "—"
    return f"{value:.3g} s" if latency else f"{value:.1%}"


def _gap_suffix(inv: Investigation) -> str:
    reason = common.gap(inv, "kubernetes", "rollout_history", namespace=inv.incident.namespace,
                        selector=inv.incident.selector)
    return f" ({reason})" if reason else ""


def gates(inv: Investigation) -> Answer:
    from ..analysis.canary import CanaryGates

    ans = Answer("Health gates and rollback triggers")
    return ans.table("Gates", gate_triggers(CanaryGates.from_thresholds(inv.incident.thresholds)))


def gate_triggers(g: CanaryGates) -> pd.DataFrame:
    """The gates step 07 applies, from the same :class:`CanaryGates` the canary comparison uses."""
    rows = [
        ("error ratio increase over baseline", f"> +{g.max_error_ratio_increase * 100:.1f} points, Mann-Whitney U "
         f"p < {g.alpha}", "roll back"),
        ("error ratio ceiling (thresholds.error_ratio_p1)", f"canary median > {g.error_ratio_ceiling:.1%}",
         "roll back"),
        ("latency (median p99) over baseline", f"> {g.max_latency_ratio:.1f}×, p < {g.alpha}", "roll back"),
    ]
    if g.latency_ceiling_s is not None:
        rows.append(("p99 latency ceiling (thresholds.latency_p99_s)", f"canary median > {g.latency_ceiling_s:g} s",
                     "roll back"))
    rows += [("container restarts / OOMKilled", "any new restart of the new revision", "roll back"),
             ("pods ready", "fewer than desired replicas for 5 min", "hold")]
    return pd.DataFrame(rows, columns=["gate", "trigger", "action"])


def rollout_state(inv: Investigation) -> Answer:
    ans = Answer("Rollout state and the commands to promote or roll back")
    rollout = _current_rollout(inv)
    if rollout is None:
        return ans.lack("no rollout history" + _gap_suffix(inv))
    obj, ns = f"{str(rollout['kind']).lower()}/{rollout['name']}", inv.incident.namespace
    ans.say(f"{obj} is at revision {rollout['revision']} ({rollout['change_cause'] or 'no change-cause'}), "
            f"{rollout['ready_replicas']} of {rollout['replicas']} replicas ready.")
    verdict = (inv.finding("canary") or {}).get("verdict")
    ans.code = (f"kubectl rollout status {obj} -n {ns}\n"
                f"kubectl rollout history {obj} -n {ns}\n"
                f"kubectl rollout undo {obj} -n {ns}            # roll back to the previous revision\n"
                f"kubectl rollout pause {obj} -n {ns}           # hold\n"
                f"kubectl rollout resume {obj} -n {ns}          # promote a paused rollout")
    if verdict:
        ans.say(f"The canary analysis says: {verdict}. Nothing is run by irlib.")
    return ans
