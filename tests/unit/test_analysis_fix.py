"""Mitigation options from suspects and saturation."""
from __future__ import annotations

import pandas as pd

from irlib.analysis.fix import OPTIONS_SCHEMA, Failover, FeatureFlag, mitigation_options
from irlib.analysis.suspects import changes_from_git, changes_from_rollouts, rank_suspects

ONSET = pd.Timestamp("2026-03-01T11:15:00Z")


def suspects(with_rollout: bool = True) -> pd.DataFrame:
    history = pd.DataFrame({"kind": ["Deployment"] * 2, "name": ["checkout"] * 2, "revision": [2, 3],
                            "change_cause": ["v1.3", "v1.4"], "images": [["c:1.3"], ["c:1.4"]],
                            "created_at": [pd.Timestamp("2026-02-20T00:00:00Z"),
                                           pd.Timestamp("2026-03-01T11:10:00Z")], "current": [False, True]})
    git = pd.DataFrame({"time": [pd.Timestamp("2026-03-01T10:40:00Z")], "commit": ["0123456789abcdef"],
                        "author": ["Ada"], "subject": ["checkout: pool 2"], "files": ["checkout/values.yaml"]})
    parts = [changes_from_git(git, "checkout")]
    if with_rollout:
        parts.insert(0, changes_from_rollouts(history, "checkout", "shop"))
    return rank_suspects(pd.concat(parts, ignore_index=True), ONSET, "120min", "checkout")


def test_rollback_to_previous_revision_leads_with_exact_command() -> None:
    options = mitigation_options(suspects(), {"cpu": 0.3}, "checkout")
    assert list(options.columns) == list(OPTIONS_SCHEMA)
    top = options.iloc[0]
    assert top["action"] == "rollback" and top["rank"] == 1
    assert top["commands"].splitlines()[0] == "kubectl rollout undo deployment/checkout -n shop --to-revision=2"
    assert "--to-revision=3" in top["rollback_plan"]
    assert options["action"].tolist() == ["rollback", "revert_config"]
    assert "git revert --no-edit 0123456789" in options.iloc[1]["commands"]


def test_saturation_without_rollout_proposes_scale_out() -> None:
    options = mitigation_options(suspects(with_rollout=False), {"cpu": 0.95, "memory": 0.5}, "checkout",
                                 namespace="shop", replicas=4)
    scale = options[options["action"] == "scale_out"].iloc[0]
    assert scale["commands"] == "kubectl scale deployment/checkout -n shop --replicas=6"
    assert scale["rollback_plan"] == "kubectl scale deployment/checkout -n shop --replicas=4"
    assert "cpu at 95%" in scale["why"]
    unknown = mitigation_options(suspects(with_rollout=False), {"cpu": 0.95}, "checkout", namespace="shop")
    assert unknown["action"].tolist() == ["revert_config", "scale_out"]
    assert "$(( $(kubectl get deployment/checkout -n shop" in unknown.iloc[1]["commands"]


def test_leak_flags_and_failover() -> None:
    flag = FeatureFlag("new-pricing", "flagctl set new-pricing off", "flagctl set new-pricing on")
    failover = Failover("eu-west standby", "dnsctl point checkout eu-west", "dnsctl point checkout eu-central")
    options = mitigation_options(pd.DataFrame(), {"memory": 0.92}, "checkout", leak_suspected=True, flags=[flag],
                                 failover=failover)
    assert options["action"].tolist() == ["restart", "disable_feature", "failover"]
    assert options.iloc[1]["rollback_plan"] == "flagctl set new-pricing on"
    assert "kubectl rollout restart deployment/checkout -n default" in options.iloc[0]["commands"]


def test_nothing_to_propose_is_an_empty_frame() -> None:
    options = mitigation_options(suspects().iloc[0:0], None, "checkout")
    assert options.empty and list(options.columns) == list(OPTIONS_SCHEMA)


def test_names_are_shell_quoted() -> None:
    options = mitigation_options(pd.DataFrame(), {"cpu": 0.9}, "x; rm -rf /", replicas=1)
    assert "'deployment/x; rm -rf /'" in options.iloc[0]["commands"]
