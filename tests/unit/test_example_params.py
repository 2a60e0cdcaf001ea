"""parameters/example.yaml documents every section; it must be valid apart from the machine-specific files it names."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from irlib.incident import SPEC, parse_incident

EXAMPLE = Path(__file__).resolve().parent.parent.parent / "parameters" / "example.yaml"


def test_example_is_valid_once_its_paths_exist(tmp_path: Path) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["sources"]["kubernetes"]["kubeconfig"] = str(EXAMPLE)
    data["sources"]["logs"][0]["path"] = str(EXAMPLE)
    data["sources"]["git"]["repo"] = str(tmp_path)
    incident = parse_incident(yaml.safe_dump(data), path=EXAMPLE, now=pd.Timestamp("2026-11-20T15:00:00Z"))
    assert incident.id == "INC-2041" and incident.window.end - incident.window.start == pd.Timedelta(hours=3)


def test_example_shows_every_top_level_section() -> None:
    text = EXAMPLE.read_text()
    for key in SPEC:
        assert f"{key}:" in text, key


def _keys(spec: dict, prefix: str = "") -> list[str]:
    out = []
    for key, (kind, _required) in spec.items():
        out.append(prefix + key)
        inner = kind[0] if isinstance(kind, list) else kind
        if isinstance(inner, dict):
            out.extend(_keys(inner, prefix + key + "."))
    return out


def test_example_documents_every_key_the_spec_accepts() -> None:
    """A key accepted but shown nowhere is a setting nobody finds (commented-out lines count as shown)."""
    text = EXAMPLE.read_text()
    missing = [key for key in _keys(SPEC) if f"{key.rsplit('.', 1)[-1]}:" not in text]
    assert not missing, missing
