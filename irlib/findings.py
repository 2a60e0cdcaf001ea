"""Findings: small typed values a step establishes, kept in the run for later steps and the index page."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import EvidenceError
from .fsutil import write_json

FindingValue = str | int | float | bool | None | list[Any] | dict[str, Any]


@dataclass
class Finding:
    name: str
    value: FindingValue
    step: str
    recorded_at: str
    summary: str = ""
    evidence: list[str] = field(default_factory=list)


def to_jsonable(value: Any) -> FindingValue:
    """Turn timestamps, numpy scalars, frames and dataclasses into plain JSON values."""
    if isinstance(value, pd.Timestamp):
        return None if value is pd.NaT else value.isoformat()
    if isinstance(value, pd.Timedelta):
        return value.total_seconds()
    if isinstance(value, pd.DataFrame):
        return json.loads(value.to_json(orient="records", date_format="iso", date_unit="s"))
    if hasattr(value, "__dataclass_fields__"):
        return to_jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return to_jsonable(value.item())
    if isinstance(value, float) and value != value:
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def save_finding(findings_dir: Path, finding: Finding) -> None:
    write_json(findings_dir / f"{finding.name}.json", asdict(finding))


def load_findings(findings_dir: Path) -> dict[str, Finding]:
    """Every finding of a run by name."""
    out: dict[str, Finding] = {}
    if not findings_dir.is_dir():
        return out
    for path in sorted(findings_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            out[data["name"]] = Finding(**data)
        except (ValueError, TypeError, KeyError) as exc:
            raise EvidenceError(f"{path}: not a finding ({exc})") from exc
    return out
