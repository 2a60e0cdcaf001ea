"""Runner: a failing, a self-killing and a hanging notebook are each saved as far as they got, marked, and the
other steps still run; exit status 1; the report and a verifying manifest are still written."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from irlib.manifest import verify_run
from irlib.runner import new_run_dir, run_incident

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "runner"
PARAMS = """
incident: {id: runner-test, title: Runner test, declared_at: "2026-11-20T14:30:00Z"}
window: {start: "2026-11-20T13:00:00Z", end: "2026-11-20T15:00:00Z"}
service: {name: checkout, namespace: shop}
"""


@pytest.fixture()
def notebooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    for target, source in {"01-assessment": "ok", "02-troubleshooting": "raises", "03-deep-debugging": "kills",
                           "04-performance": "sleeps"}.items():
        shutil.copy(FIX / f"{source}.ipynb", nb_dir / f"{target}.ipynb")
    monkeypatch.setenv("IRLIB_NOTEBOOKS", str(nb_dir))
    return nb_dir


def _cells(run_dir: Path, name: str) -> list[dict]:
    return json.loads((run_dir / "notebooks" / f"{name}.ipynb").read_text())["cells"]


def test_failures_are_contained_and_marked(tmp_path: Path, notebooks: Path) -> None:
    params = tmp_path / "incident.yaml"
    params.write_text(PARAMS)
    messages: list[str] = []
    result = run_incident(params, steps="01,02,03,04", jobs=2, reports_dir=tmp_path / "reports",
                          timeout_s=8, progress=messages.append)
    statuses = dict(result.steps)
    assert statuses == {"01": "ok", "02": "failed", "03": "failed", "04": "failed"}
    assert result.exit_code == 1
    state = json.loads((result.run_dir / "run.json").read_text())
    assert "boom in the notebook" in state["steps"]["02"]["error"]
    assert "kernel died" in state["steps"]["03"]["error"]
    assert "timeout" in state["steps"]["04"]["error"]
    # saved as far as it got: the first cell's output is there, the failing cell is marked, later cells did not run
    for name in ("02-troubleshooting", "03-deep-debugging", "04-performance"):
        cells = {c.get("id"): c for c in _cells(result.run_dir, name)}
        first = cells["a"]["outputs"]
        assert any("first cell ran" in "".join(o.get("text", "")) for o in first), name
        assert cells["b"]["metadata"].get("irlib_failed") is True, name
        assert not cells["c"]["outputs"], name
        html = (result.run_dir / "html" / f"{name}.html").read_text()
        assert "This step failed" in html and "print(" not in html  # marked, and no code cells in the report
    index = result.index_html.read_text()
    assert "failed" in index and "01 Assessment" in index
    assert any("[02-troubleshooting] failed" in m for m in messages)
    assert verify_run(result.run_dir).ok


def test_run_dirs_are_never_reused(tmp_path: Path) -> None:
    clock = pd.Timestamp("2026-11-20T14:00:00Z")
    first = new_run_dir(tmp_path, "inc/../x", clock)
    second = new_run_dir(tmp_path, "inc/../x", clock)
    assert first != second and first.parent == second.parent and first.parent.parent == tmp_path
