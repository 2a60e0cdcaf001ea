"""Security signals on small synthetic access logs and on real sshd log lines (tests/fixtures/analysis)."""
from __future__ import annotations

import json
from dataclasses import asdict

import pandas as pd

from irlib.analysis.security import (
    AUTH_FAILURE, CLIENTS_SCHEMA, CREDENTIALS_SCHEMA, auth_failures, credential_exposure, security_verdict, status_surge,
    unusual_clients,
)
from tests.conftest import FIXTURES

ONSET = pd.Timestamp("2026-03-01T11:00:00Z")


def at(minute: float) -> pd.Timestamp:
    return ONSET + pd.Timedelta(minutes=minute)


def requests(attack: bool) -> pd.DataFrame:
    rows = [{"time": at(m - 60), "status": 200, "client": f"10.0.0.{m % 5}", "user_agent": "app/1"}
            for m in range(0, 60, 2)]
    rows += [{"time": at(m), "status": 200, "client": f"10.0.0.{m % 5}", "user_agent": "app/1"} for m in range(30)]
    if attack:
        rows += [{"time": at(i * 0.1), "status": 401, "client": "203.0.113.9", "user_agent": "hydra"}
                 for i in range(40)]
        rows.append({"time": at(5), "status": 200, "client": "203.0.113.9", "user_agent": "hydra"})
    return pd.DataFrame(rows)


def test_401_surge_and_new_client_that_got_in_is_a_security_incident() -> None:
    reqs = requests(attack=True)
    denied = status_surge(reqs, ONSET)
    assert denied.surge and denied.before_count == 0 and denied.after_count == 40
    clients = unusual_clients(reqs, ONSET)
    assert list(clients.columns) == list(CLIENTS_SCHEMA)
    top = clients.iloc[0]
    assert top["client"] == "203.0.113.9" and top["is_new"] and top["unusual"]
    assert top["denied_after"] == 40 and top["succeeded_after"] == 1
    assert not clients.iloc[1:]["unusual"].any()
    verdict = security_verdict(denied=denied, clients=clients, auth=auth_failures(pd.DataFrame(), ONSET),
                               credentials=credential_exposure([]))
    assert verdict.security_incident == "yes" and "denied and then succeeded" in verdict.reasons[0]
    json.dumps(asdict(verdict))


def test_quiet_traffic_is_not_a_security_incident() -> None:
    reqs = requests(attack=False)
    verdict = security_verdict(denied=status_surge(reqs, ONSET), clients=unusual_clients(reqs, ONSET),
                               auth=auth_failures(pd.DataFrame({"time": [at(1)], "message": ["ok"]}), ONSET),
                               credentials=credential_exposure(["GET /health 200"]))
    assert verdict.security_incident == "no" and verdict.missing == []


def test_auth_failure_surge_alone_is_suspected_and_missing_evidence_is_named() -> None:
    records = pd.DataFrame({"time": [at(m / 4) for m in range(30)] + [at(-30)],
                            "message": ["sshd: Failed password for root from 198.51.100.7"] * 30 + ["started"]})
    auth = auth_failures(records, ONSET)
    assert auth.surge and auth.after_count == 30 and auth.before_count == 0
    verdict = security_verdict(auth=auth)
    assert verdict.security_incident == "suspected"
    assert verdict.missing == ["access-log status codes", "client addresses / user agents",
                               "log text scanned for credentials"]


def test_credentials_are_counted_by_kind_and_never_shown() -> None:
    secret = "sk_live_" + "a1B2c3D4e5F6g7H8i9J0"
    lines = [f"charge failed key={secret}", f"retry with {secret}", "Authorization: Bearer abcdefghijklmnop1234",
             "already [REDACTED:jwt:0badc0de] in the record", None]
    found = credential_exposure(lines)
    assert list(found.columns) == list(CREDENTIALS_SCHEMA)
    by_kind = {r.kind: (r.count, r.distinct) for r in found.itertuples()}
    assert by_kind["stripe_key"] == (2, 1) and by_kind["authorization_header"] == (1, 1) and by_kind["jwt"] == (1, 1)
    assert secret not in found.to_string() and "abcdefghijklmnop1234" not in found.to_string()
    assert found.set_index("kind").loc["jwt", "example"] == "[REDACTED:jwt:0badc0de]"
    assert security_verdict(credentials=found).security_incident == "suspected"


def test_user_agent_column_and_empty_inputs() -> None:
    agents = unusual_clients(requests(attack=True), ONSET, column="user_agent")
    assert agents.iloc[0]["client"] == "hydra"
    assert unusual_clients(pd.DataFrame(), ONSET).empty
    assert not status_surge(pd.DataFrame(), ONSET).surge


def _openssh() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "analysis" / "openssh_2k_sample.csv")


# Ground-truth templates of the real sshd sample that are / are not authentication failures.
SSH_FAILURES = {"E4", "E6", "E8", "E9", "E10", "E12", "E13", "E14", "E15", "E16", "E17", "E19", "E20", "E21"}
SSH_OTHER = {"E1", "E2", "E3", "E11", "E18", "E22", "E23", "E24", "E25", "E26", "E27"}


def test_auth_failure_pattern_on_real_sshd_lines() -> None:
    lines = _openssh()
    hit = lines["Content"].str.contains(AUTH_FAILURE)
    assert hit[lines["EventId"].isin(SSH_FAILURES)].all()
    assert not hit[lines["EventId"].isin(SSH_OTHER)].any()


def test_real_sshd_failures_after_a_quiet_period_are_a_surge() -> None:
    lines = _openssh()
    times = pd.to_datetime("2026 " + lines["Date"] + " " + lines["Day"].astype(str) + " " + lines["Time"],
                           format="%Y %b %d %H:%M:%S", utc=True)
    records = pd.DataFrame({"time": times, "message": lines["Content"]})
    onset = times.iloc[len(times) // 2]
    quiet_before = records[(records["time"] >= onset) | ~records["message"].str.contains(AUTH_FAILURE)]
    surge = auth_failures(quiet_before, onset)
    assert surge.surge and surge.before_count == 0 and surge.after_count > 50
