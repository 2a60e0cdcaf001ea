"""Mitigation options ranked from the evidence, each with the exact commands and its rollback plan.

Nothing is executed here: the options are text.  Executing one (only when the parameters' ``actions.allow`` says
so) is the step glue's job, and it records what it did as evidence.
"""
from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ..frames import conform

OPTIONS_SCHEMA: dict[str, str] = {
    "rank": "Int64", "action": "string", "title": "string", "why": "string", "commands": "string",
    "rollback_plan": "string", "score": "float64", "risk": "string",
}
SATURATED_AT = 0.8  # utilisation (of a limit) from which scaling out is proposed


@dataclass
class FeatureFlag:
    """A feature that can be switched off, with the exact commands of the flag system to do and undo it."""

    name: str
    disable_command: str
    enable_command: str
    touches_service: bool = True


@dataclass
class Failover:
    """A standby to fail over to, with the exact commands (from the parameters) to do and undo it."""

    target: str
    command: str
    rollback_command: str


def _q(value: object) -> str:
    return shlex.quote(str(value))


def mitigation_options(suspects: pd.DataFrame, saturation: Mapping[str, float] | None, incident_service: str, *,
                       namespace: str = "default", deployment: str | None = None, replicas: int | None = None,
                       leak_suspected: bool = False, flags: Sequence[FeatureFlag] = (),
                       failover: Failover | None = None, config_repo: str | None = None) -> pd.DataFrame:
    """Ranked options (:data:`OPTIONS_SCHEMA`), best first.

    ``suspects`` is :func:`irlib.analysis.suspects.rank_suspects`' frame; ``saturation`` maps a resource to its
    utilisation of the limit (0..1); ``deployment`` defaults to the service name.  Rollback to the previous revision
    leads when a rollout is the top suspect; a config revert when a config commit is; scale-out under saturation;
    a restart when a leak is suspected (it buys time until the next predicted OOM); disabling a feature flag and a
    failover when the parameters name them.
    """
    target = deployment or incident_service
    options: list[dict[str, object]] = []
    top = suspects.iloc[0] if suspects is not None and len(suspects) else None
    for row in ([] if suspects is None else suspects.itertuples(index=False)):
        option = _rollback(row, namespace) if row.kind == "rollout" else (
            _revert(row, config_repo) if row.kind == "config" else None)
        if option is not None:
            is_top = top is not None and row.rank == top["rank"]
            option["score"] = round((0.95 if is_top else 0.5) * float(row.score), 4)
            options.append(option)
    options += _capacity_options(saturation, target, namespace, replicas, leak_suspected)
    options += [_flag(flag) for flag in flags]
    if failover is not None:
        options.append({"action": "failover", "title": f"Fail over to {failover.target}",
                        "why": "a standby is configured; use it when the primary cannot be fixed quickly",
                        "commands": failover.command, "rollback_plan": failover.rollback_command, "score": 0.3,
                        "risk": "high: moves all traffic; check the standby's capacity and data freshness first"})
    frame = pd.DataFrame(options)
    if frame.empty:
        return conform(None, OPTIONS_SCHEMA)
    frame = frame.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    frame["rank"] = range(1, len(frame) + 1)
    return conform(frame, OPTIONS_SCHEMA)


def _rollback(row: object, default_ns: str) -> dict[str, object] | None:
    previous, revision, obj = getattr(row, "previous_revision"), getattr(row, "revision"), getattr(row, "target")
    if pd.isna(previous) or pd.isna(obj) or not str(obj):
        return None
    ns = getattr(row, "namespace")
    ns = default_ns if pd.isna(ns) or not str(ns) else str(ns)
    base = f"kubectl rollout undo {_q(obj)} -n {_q(ns)}"
    return {"action": "rollback", "title": f"Roll {obj} back from revision {revision} to {previous}",
            "why": f"suspect rank {getattr(row, 'rank')}: {getattr(row, 'reason')}",
            "commands": f"{base} --to-revision={int(previous)}\n"
                        f"kubectl rollout status {_q(obj)} -n {_q(ns)} --timeout=5m",
            "rollback_plan": f"{base} --to-revision={int(revision)}  # re-apply revision {revision} if the "
                             "rollback makes things worse",
            "risk": "low: returns to a revision that ran before the onset"}


def _revert(row: object, repo: str | None) -> dict[str, object] | None:
    commit = str(getattr(row, "name")).removeprefix("commit ").strip()
    if not commit:
        return None
    git = f"git -C {_q(repo)}" if repo else "git"
    return {"action": "revert_config", "title": f"Revert config commit {commit}",
            "why": f"suspect rank {getattr(row, 'rank')}: {getattr(row, 'reason')}",
            "commands": f"{git} revert --no-edit {_q(commit)}\n# then apply the configuration through its pipeline",
            "rollback_plan": f"{git} revert --no-edit HEAD  # re-applies commit {commit}", "score": 0.0,
            "risk": "medium: other changes may depend on this commit"}


def _capacity_options(saturation: Mapping[str, float] | None, target: str, ns: str, replicas: int | None,
                      leak: bool) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    hot = {k: v for k, v in (saturation or {}).items() if v is not None and v >= SATURATED_AT}
    obj = f"deployment/{target}"
    if hot and not leak:
        now = f"--replicas={replicas}" if replicas is not None else ""
        more = max(replicas + 2, math.ceil(replicas * 1.5)) if replicas is not None else None
        get = f"kubectl get {_q(obj)} -n {_q(ns)} -o jsonpath='{{.spec.replicas}}'"
        scale = (f"kubectl scale {_q(obj)} -n {_q(ns)} --replicas={more}" if more is not None
                 else f"kubectl scale {_q(obj)} -n {_q(ns)} --replicas=$(( $({get}) + 2 ))")
        what = ", ".join(f"{k} at {v * 100:.0f}%" for k, v in sorted(hot.items()))
        out.append({"action": "scale_out", "title": f"Scale {obj} out", "why": f"saturated: {what} of the limit",
                    "commands": scale, "score": 0.6, "risk": "low, if the cluster has room and dependencies "
                    "(e.g. database connections) can take the extra replicas",
                    "rollback_plan": f"kubectl scale {_q(obj)} -n {_q(ns)} {now}".rstrip()
                    if replicas is not None else f"scale back to the replica count recorded by: {get}"})
    if leak:
        out.append({"action": "restart", "title": f"Restart {obj} (rolling)",
                    "why": "memory grows steadily towards the limit (a leak): a rolling restart buys time until "
                           "the next predicted OOM while the leak is fixed",
                    "commands": f"kubectl rollout restart {_q(obj)} -n {_q(ns)}\n"
                                f"kubectl rollout status {_q(obj)} -n {_q(ns)} --timeout=5m",
                    "rollback_plan": "none needed: a restart changes no configuration", "score": 0.55,
                    "risk": "low: pods are replaced one by one; in-flight requests may fail"})
    return out


def _flag(flag: FeatureFlag) -> dict[str, object]:
    return {"action": "disable_feature", "title": f"Disable feature flag {flag.name}",
            "why": "the feature is switchable and " + ("touches the affected service" if flag.touches_service
                                                       else "may be involved"),
            "commands": flag.disable_command, "rollback_plan": flag.enable_command,
            "score": 0.5 if flag.touches_service else 0.35, "risk": "low: users lose the feature meanwhile"}
