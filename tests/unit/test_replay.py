"""Replay answers a fetch only with evidence of exactly that call: another incident's bundle is not evidence."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from irlib.incident import parse_incident
from irlib.investigation import DEMO_BUNDLE, Investigation

ROOT = Path(__file__).resolve().parent.parent.parent
DEMO = ROOT / "parameters" / "demo.yaml"


def _investigation(tmp_path: Path, edit: dict, own_queries: bool = True) -> Investigation:
    data = yaml.safe_load(DEMO.read_text())
    for section, values in edit.items():
        data[section].update(values)
    if not own_queries:  # the standard query packs, built for this incident's service
        data["sources"]["prometheus"].pop("queries")
    incident = parse_incident(yaml.safe_dump(data), path=DEMO, now=pd.Timestamp("2026-12-03T18:00:00Z"))
    return Investigation(incident, tmp_path / "run", step="01", replay=DEMO_BUNDLE)


def test_the_demo_incident_replays_its_own_evidence(tmp_path: Path) -> None:
    inv = _investigation(tmp_path, {})
    w = inv.incident.window
    frame = inv.prometheus.signal(name="error_ratio", start=w.start, end=w.end)
    assert len(frame) and inv.used[-1].status == "ok" and inv.used[-1].replayed_from


def test_another_service_or_window_gets_nothing_from_the_bundle(tmp_path: Path) -> None:
    other = _investigation(tmp_path, {"service": {"name": "checkout", "namespace": "shop", "deployments": ["checkout"]}},
                           own_queries=False)
    w = other.incident.window
    assert other.prometheus.signal(name="error_ratio", start=w.start, end=w.end).empty
    assert other.used[-1].status == "unavailable" and "holds no evidence" in other.used[-1].reason
    assert other.kubernetes.pods(namespace="shop", selector="app=checkout").empty
    shifted = _investigation(tmp_path / "b", {"window": {"start": "2026-12-03T16:00:00+00:00",
                                                         "end": "2026-12-03T17:10:00+00:00"}})
    w = shifted.incident.window
    assert shifted.prometheus.signal(name="error_ratio", start=w.start, end=w.end).empty
