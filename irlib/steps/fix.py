"""Step 06: mitigation options ranked from the evidence, the rollback plan, and which actions were taken."""
from __future__ import annotations

from typing import Any

import pandas as pd

from ..analysis.text import fmt_duration
from ..display import Answer
from ..investigation import Investigation
from . import common, facts


def _suspects(inv: Investigation) -> pd.DataFrame:
    found = inv.finding("suspects")
    if found is None:
        return facts.suspects(inv)
    from ..analysis.suspects import SUSPECTS_SCHEMA
    from ..frames import conform

    return conform(pd.DataFrame(found), SUSPECTS_SCHEMA)


def _leak_suspected(inv: Investigation) -> bool:
    pattern = inv.finding("restart_pattern") or {}
    exhaustion = inv.finding("exhaustion") or {}
    return bool(pattern.get("leak_signature")) or bool(exhaustion.get("leak"))


def _saturation(inv: Investigation) -> dict[str, float]:
    exhaustion = inv.finding("exhaustion") or {}
    limit = exhaustion.get("limit")
    memory = common.signal_series(inv, "memory_working_set", "max")
    if limit and len(memory):
        return {"memory": float(memory.max()) / float(limit)}
    return {}


def _replicas(inv: Investigation) -> int | None:
    history = common.rollouts(inv)
    current = history[history["current"].fillna(False).astype(bool)] if len(history) else history
    values = current["replicas"].dropna() if len(current) else pd.Series(dtype="Int64")
    return int(values.iloc[0]) if len(values) else None


def options(inv: Investigation) -> Answer:
    from ..analysis.fix import mitigation_options

    ans = Answer("Which mitigations does the evidence support, best first?")
    deployments = inv.incident.service.get("deployments") or [inv.incident.service["name"]]
    table = mitigation_options(_suspects(inv), _saturation(inv), inv.incident.service["name"],
                               namespace=inv.incident.namespace, deployment=deployments[0],
                               replicas=_replicas(inv), leak_suspected=_leak_suspected(inv),
                               config_repo=(inv.incident.sources.get("git") or {}).get("repo"))
    if table.empty:
        ans.say("The evidence supports no specific mitigation: no change preceded the onset and nothing is "
                "saturated. Keep investigating (steps 02–05).")
    else:
        top = table.iloc[0]
        ans.say(f"Best option: {top['title']} — {top['why']}.")
        inv.record("mitigation", {"title": str(top["title"]), "action": str(top["action"]),
                                  "commands": str(top["commands"]), "rollback_plan": str(top["rollback_plan"])},
                   summary=str(top["title"]))
    inv.record("root_cause", root_cause(inv), summary=root_cause(inv)["text"])
    return ans.table("Mitigation options", table)


def root_cause(inv: Investigation) -> dict[str, Any]:
    """The root-cause statement the evidence supports: the top suspect plus the failure mechanism."""
    suspects = inv.finding("suspects") or []
    exhaustion = inv.finding("exhaustion") or {}
    top_error = inv.finding("top_error_template") or {}
    broken = inv.finding("broken") or {}
    parts = []
    if suspects:
        minutes = float(suspects[0].get("minutes_before_onset") or 0)
        when = f"{fmt_duration(abs(minutes) * 60)} {'before' if minutes >= 0 else 'after'} the estimated onset"
        parts.append(f"{suspects[0]['name']} ({suspects[0].get('detail') or 'no change-cause recorded'}), {when}")
    if broken.get("oom_killed") or _leak_suspected(inv):
        parts.append("memory grows steadily until the containers are OOMKilled at their limit and restart "
                     "(a leak)" + (f"; {exhaustion.get('summary')}" if exhaustion.get("summary") else ""))
    if top_error.get("template"):
        parts.append(f"users see: {top_error['template']}")
    text = "; ".join(parts) if parts else ""
    return {"text": text, "established": bool(suspects) and bool(parts)}


def rollback_plan(inv: Investigation) -> Answer:
    ans = Answer("What is the rollback target and the exact command?")
    suspects = _suspects(inv)
    rollouts = suspects[suspects["kind"] == "rollout"] if len(suspects) else suspects
    if rollouts.empty:
        return ans.say("No rollout is among the suspects: there is no rollback target.")
    row = rollouts.iloc[0]
    if pd.isna(row["previous_revision"]):
        return ans.say(f"{row['name']} is the first revision recorded: there is no earlier revision to roll "
                       "back to.")
    ns, target = row["namespace"] if pd.notna(row["namespace"]) else inv.incident.namespace, row["target"]
    ans.say(f"Roll {target} back from revision {row['revision']} to {row['previous_revision']}.")
    ans.code = (f"kubectl rollout undo {target} -n {ns} --to-revision={int(row['previous_revision'])}\n"
                f"kubectl rollout status {target} -n {ns} --timeout=5m\n"
                f"# if it makes things worse, return to the suspect revision:\n"
                f"kubectl rollout undo {target} -n {ns} --to-revision={int(row['revision'])}")
    inv.record("rollback_target", {"target": str(target), "namespace": str(ns),
                                   "revision": int(row["previous_revision"]), "from_revision": int(row["revision"])})
    return ans


def actions(inv: Investigation) -> Answer:
    ans = Answer("Which actions were taken?")
    allowed = bool(inv.incident.actions.get("allow"))
    if not allowed:
        ans.say("None: the parameters do not allow actions (actions.allow is false, the default). The commands "
                "above are for a human to run after review.")
    else:
        ans.say("actions.allow is true, but this version of irlib only proposes commands and never changes the "
                "cluster itself; none was executed. Run the reviewed command by hand and note it in the timeline.")
    inv.record("actions_taken", [], summary="no action executed by irlib")
    return ans
