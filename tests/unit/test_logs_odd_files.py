"""Odd log paths: an empty file is an empty, ok answer; a FIFO or a directory is refused at once, never hangs."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from irlib.incident import parse_incident
from irlib.investigation import Investigation


def _inv(tmp_path: Path, log: Path) -> Investigation:
    text = f"""
incident: {{id: odd, title: odd files, declared_at: "2026-11-20T14:30:00Z"}}
window: {{start: "2026-11-20T13:00:00Z", end: "2026-11-20T15:00:00Z"}}
service: {{name: checkout}}
sources: {{logs: [{{name: app, path: "{log}"}}]}}
"""
    incident = parse_incident(text, path=tmp_path / "i.yaml", now=pd.Timestamp("2026-11-20T15:00:00Z"))
    return Investigation(incident, tmp_path / "run")


def _window(inv: Investigation) -> dict[str, pd.Timestamp]:
    return {"start": inv.incident.window.start, "end": inv.incident.window.end}


def test_empty_log_file_is_an_empty_ok_answer(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    inv = _inv(tmp_path, log)
    frame = inv.logs.records(name="app", **_window(inv))
    assert frame.empty and "timestamp" in frame.columns
    assert inv.used[-1].status == "ok"


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "app.log"
    os.mkfifo(fifo)
    inv = _inv(tmp_path, fifo)
    frame = inv.logs.records(name="app", **_window(inv))
    record = inv.used[-1]
    assert frame.empty and record.status == "unavailable" and "not a regular file" in record.reason
