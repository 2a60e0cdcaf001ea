"""The five lab scenarios: each injects a real failure and records its ground truth.

Ground truth (``<lab>/scenarios/<n>.json``): ``scenario``, ``name``, ``injected_at`` and ``onset`` (UTC ISO),
``trigger`` (``{"kind", "match"}``: the suspect that must rank first -- ``kind`` as in the suspects finding,
``match`` a text its name or detail contains -- or null when nothing may be blamed), ``expected_severity``,
``expected_top_error`` (a text the top error template contains, or null when there are no errors) and ``alerts``
(the alert names expected to fire).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
import psycopg2

from ..errors import ParameterError
from ..fsutil import write_json
from .lab import Lab, git_commit


@dataclass
class GroundTruth:
    scenario: int
    name: str
    injected_at: str
    onset: str
    trigger: dict[str, str] | None
    expected_severity: str
    expected_top_error: str | None
    alerts: list[str]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def unbounded_cache(lab: Lab) -> GroundTruth:
    """1: release v2 caches recommendations per session without bound; the container is OOMKilled, restarts, and
    clients get 503s from the proxy while it is down (the demo incident)."""
    at = _now()
    rev = lab.rollout("v2", "cache product recommendations in memory", ["unbounded-cache"])
    return GroundTruth(1, "unbounded cache release", at.isoformat(), rev.created_at.isoformat(),
                       {"kind": "rollout", "match": f"revision {rev.number}"}, "P1",
                       "upstream connect error or disconnect/reset before headers",
                       ["OrdersContainerOOMKilled", "OrdersHighErrorRate"])


def broken_endpoint(lab: Lab) -> GroundTruth:
    """2: release v3 prices carts in a currency old carts do not carry: POST /api/checkout fails with KeyError."""
    at = _now()
    rev = lab.rollout("v3", "multi-currency checkout", ["checkout-currency"])
    return GroundTruth(2, "release breaks one endpoint", at.isoformat(), rev.created_at.isoformat(),
                       {"kind": "rollout", "match": f"revision {rev.number}"}, "P1", "KeyError",
                       ["OrdersHighErrorRate"])


def lock_contention(lab: Lab, hold_s: float = 240.0) -> GroundTruth:
    """3: a migration (committed to the config repo) holds an ACCESS EXCLUSIVE lock on ``orders``; requests queue on
    the lock until their statement timeout, and the connection pool is exhausted."""
    commit = git_commit(lab.git_repo, "migrations/0042_orders_status.sql",
                        "ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';\n",
                        "migrations: 0042 add orders.status (orders service schema)")
    at = _now()
    conn = psycopg2.connect(lab.dsn(), application_name="migrate-0042")
    cur = conn.cursor()
    cur.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")

    def finish() -> None:
        lab.stopping.wait(hold_s)
        try:
            cur.execute("ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new'")
            conn.commit()
        except psycopg2.Error:
            pass
        finally:
            conn.close()

    lab.background(finish)
    # P1: requests on the locked table time out (a fifth to a quarter of all requests fail) while the rest are
    # served; the readiness probe fails now and then but, as with the real kubelet's failureThreshold, the pod
    # stays ready: a major degradation, not a complete outage
    return GroundTruth(3, "lock contention from a migration", at.isoformat(), at.isoformat(),
                       {"kind": "config", "match": commit[:10]}, "P1",
                       "canceling statement due to statement timeout", ["OrdersHighErrorRate"],
                       [f"migration commit {commit}; lock held {hold_s:.0f} s"])


def database_down(lab: Lab) -> GroundTruth:
    """4: the database stops; every request that needs it fails, health checks fail."""
    assert lab.pg is not None
    at = _now()
    lab.pg.stop()
    return GroundTruth(4, "database stops", at.isoformat(), at.isoformat(),
                       {"kind": "alert", "match": "OrdersDatabaseDown"}, "P0", "OperationalError",
                       ["OrdersDatabaseDown", "OrdersHighErrorRate"])


def slow_burn(lab: Lab, rows_per_s: int = 30000, duration_s: float = 600.0) -> GroundTruth:
    """5: no deployment; a batch job keeps appending audit events and the unindexed search scans them, so latency
    creeps up.  Nothing should be blamed."""
    at = _now()
    stop_at = time.monotonic() + duration_s

    def grow() -> None:
        conn = psycopg2.connect(lab.dsn(), application_name="audit-batch")
        conn.autocommit = True
        try:
            while time.monotonic() < stop_at and not lab.stopping.is_set():
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO audit_events (note) SELECT 'order event ' || i "
                                "FROM generate_series(1, %s) AS i", (rows_per_s,))
                time.sleep(1.0)
        except psycopg2.Error:
            pass
        finally:
            conn.close()

    lab.background(grow)
    return GroundTruth(5, "slow burn latency", at.isoformat(), at.isoformat(), None, "P1", None,
                       ["OrdersHighLatency"], ["onset is the start of the ramp; no change may be blamed"])


SCENARIOS: dict[int, Callable[[Lab], GroundTruth]] = {
    1: unbounded_cache, 2: broken_endpoint, 3: lock_contention, 4: database_down, 5: slow_burn,
}


def inject(lab: Lab, number: int) -> GroundTruth:
    """Inject scenario ``number`` into the running lab and write its ground truth to ``<lab>/scenarios/<n>.json``."""
    if number not in SCENARIOS:
        raise ParameterError(f"unknown scenario {number}; scenarios are 1-5 (see docs/lab.md)", key="scenario")
    truth = SCENARIOS[number](lab)
    write_json(lab.workdir / "scenarios" / f"{number}.json", truth.to_dict())
    return truth



@dataclass
class ScenarioRun:
    """What one scenario run produced: the ground truth, the declared incident and its run's status."""

    truth: GroundTruth
    incident_id: str
    status: dict[str, Any]
    incident_dir: str

    @property
    def run_dir(self) -> str:
        return str(self.status.get("run_dir") or "")


def wait_for_incident(lab: Lab, since: pd.Timestamp, timeout_s: float,
                      say: Callable[[str], None] = lambda _: None) -> tuple[str, dict[str, Any]]:
    """Wait until the webhook has declared an incident after ``since`` and its run has finished."""
    deadline = time.monotonic() + timeout_s
    announced = ""
    while time.monotonic() < deadline and lab.receiver is not None:
        for folder in sorted(lab.incidents_dir.glob("*/firing.json")):
            incident_id = folder.parent.name
            received = pd.Timestamp(_read_json(folder).get("received_at") or since)
            if received < since:
                continue
            if announced != incident_id:
                announced = incident_id
                say(f"alert fired; incident {incident_id} declared, running the evidence steps")
            status = lab.receiver.status(incident_id)
            if status.get("state") in ("done", "failed"):
                return incident_id, status
        time.sleep(1.0)
    raise TimeoutError(f"no incident run finished within {timeout_s:.0f} s; see {lab.workdir}/prometheus and "
                       f"{lab.workdir}/alertmanager for the alert's state")


def _read_json(path: Any) -> dict[str, Any]:
    import json

    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def run_scenario(lab: Lab, number: int, *, baseline_s: float = 150.0, timeout_s: float = 600.0,
                 say: Callable[[str], None] = lambda _: None) -> ScenarioRun:
    """On a started lab: let baseline traffic run, inject scenario ``number``, wait for the alert, the declared
    incident and its evidence run; return what happened."""
    say(f"baseline traffic for {baseline_s:.0f} s before injecting scenario {number}")
    lab.stopping.wait(baseline_s)
    truth = inject(lab, number)
    say(f"injected scenario {number} ({truth.name}) at {truth.injected_at}; waiting for {', '.join(truth.alerts)}")
    incident_id, status = wait_for_incident(lab, pd.Timestamp(truth.injected_at), timeout_s, say)
    return ScenarioRun(truth, incident_id, status, str(lab.incidents_dir / incident_id))
