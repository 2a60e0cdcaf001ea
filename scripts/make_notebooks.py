#!/usr/bin/env python3
"""Write the twelve runbook notebooks from one spec, so they stay thin and consistent.

Each notebook: a title cell, one cell tagged ``parameters``, one cell opening the investigation, then for each
question a markdown cell with the question and a code cell with one library call.  Written without outputs.
Run: ``.venv/bin/python scripts/make_notebooks.py`` (tests check the committed notebooks match this spec).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from irlib.notebook_spec import NOTEBOOKS, render  # noqa: E402


def main() -> int:
    out = ROOT / "notebooks"
    out.mkdir(exist_ok=True)
    for name in NOTEBOOKS:
        (out / f"{name}.ipynb").write_text(json.dumps(render(name), indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
