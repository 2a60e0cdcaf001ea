"""The committed notebooks are thin, clean and match the spec in irlib/notebook_spec.py."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from irlib.notebook_spec import NOTEBOOKS, render
from irlib.steps_catalog import STEPS

NB_DIR = Path(__file__).resolve().parent.parent.parent / "notebooks"


def test_twelve_notebooks_one_per_step() -> None:
    assert sorted(p.stem for p in NB_DIR.glob("*.ipynb")) == sorted(s.name for s in STEPS) == sorted(NOTEBOOKS)


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_is_thin_and_clean(name: str) -> None:
    nb = json.loads((NB_DIR / f"{name}.ipynb").read_text())
    assert nb == json.loads(json.dumps(render(name))), "regenerate with scripts/make_notebooks.py"
    tagged = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        assert cell["outputs"] == [] and cell["execution_count"] is None
        tree = ast.parse(cell["source"])
        banned = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While, ast.AsyncFor)
        assert not any(isinstance(node, banned) for node in ast.walk(tree)), cell["source"]
        assert "TODO" not in cell["source"]
    # every question is a markdown cell followed by exactly one library call
    for md, code in zip(nb["cells"][3::2], nb["cells"][4::2]):
        assert md["cell_type"] == "markdown" and md["source"].startswith("## ")
        assert code["cell_type"] == "code" and len(ast.parse(code["source"]).body) == 1
