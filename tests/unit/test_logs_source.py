"""The log source through the investigation: recorded fetches, window filter, caps and failures made visible."""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pandas as pd
import pytest

from irlib.incident import parse_incident
from irlib.investigation import Investigation
from irlib.sources.logs import LogSource

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "logs"
NOW = pd.Timestamp("2025-11-05T00:00:00Z")


def incident(tmp_path: Path, logs_yaml: str):
    text = f"""
incident: {{id: INC-1, title: logs test, declared_at: "2025-11-04T12:00:00Z"}}
window: {{start: "2025-11-04T00:00:00Z", end: "2025-11-05T00:00:00Z"}}
service: {{name: app}}
sources:
  logs:
{logs_yaml}
"""
    return parse_incident(text, path=tmp_path / "inc.yaml", now=NOW)


def test_records_through_investigation_are_recorded(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    shutil.copy(FIX / "lnav" / "log2src_python-example.0", log)
    inv = Investigation(incident(tmp_path, f"    - {{name: app, path: {log}}}"), tmp_path / "run")
    frame = inv.logs.records(name="app")
    assert len(frame) == 5 and frame["source"].eq("app").all()
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    evidence = inv.evidence()
    assert len(evidence) == 1
    row = evidence.iloc[0]
    assert row["status"] == "ok" and "name=app" in row["query"] and row["rows"] == 5


def test_window_filter_and_gzip_and_timezone(tmp_path: Path) -> None:
    log = tmp_path / "dst.log.gz"
    log.write_bytes(gzip.compress((FIX / "lnav" / "logfile_dst.0").read_bytes()))
    inc = incident(tmp_path, f"    - {{name: sys, path: {log}, timezone: America/Los_Angeles}}")
    source = LogSource(inc)
    everything = source.records(name="sys").frame
    assert everything["timestamp"].iloc[0] == pd.Timestamp("2025-11-03T09:01:03Z")  # PST in November 2025
    start = pd.Timestamp("2025-11-03T09:30:00Z")
    got = source.records(name="sys", start=start, end=pd.Timestamp("2025-11-03T10:00:00Z"))
    assert len(got.frame) and got.frame["timestamp"].between(start, pd.Timestamp("2025-11-03T10:00:00Z")).all()
    assert "start=2025-11-03T09:30:00+00:00" in got.query


def test_caps_are_visible(tmp_path: Path) -> None:
    log = tmp_path / "java.log"
    shutil.copy(FIX / "lnav" / "logfile_java.0", log)
    inc = incident(tmp_path, f"    - {{name: java, path: {log}, format: logback}}")
    by_records = LogSource(inc, max_records=5).records(name="java")
    assert len(by_records.frame) == 5 and by_records.truncated
    assert by_records.frame["line_no"].tolist() == [16, 17, 18, 19, 20]
    assert any("kept the last 5" in n for n in by_records.notes)
    by_bytes = LogSource(inc, max_bytes=1000).records(name="java")
    assert by_bytes.truncated and any("read its last" in n for n in by_bytes.notes)
    assert by_bytes.frame["line_no"].iloc[-1] == 20 and by_bytes.frame["line_no"].iloc[0] > 1


def test_unknown_name_and_missing_file_are_recorded_not_raised(tmp_path: Path) -> None:
    log = tmp_path / "gone.log"
    log.write_text("x\n", encoding="utf-8")
    inv = Investigation(incident(tmp_path, f"    - {{name: app, path: {log}}}"), tmp_path / "run")
    log.unlink()
    frame = inv.logs.records(name="app")
    assert len(frame) == 0 and list(frame.columns)[:3] == ["timestamp", "source", "line_no"]
    assert inv.evidence().iloc[0]["status"] == "unavailable"
    inv.logs.records(name="nope")
    evidence = inv.evidence()
    rejected = evidence[evidence["query"].str.contains("name=nope")].iloc[0]
    assert rejected["status"] == "rejected" and "no log named 'nope'" in rejected["reason"]


def test_bad_format_is_rejected(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("hello\n", encoding="utf-8")
    from irlib.errors import QueryError
    with pytest.raises(QueryError):
        LogSource(incident(tmp_path, f"    - {{name: a, path: {log}, format: cobol}}")).records(name="a")
