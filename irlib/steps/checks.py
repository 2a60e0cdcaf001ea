"""Run generated artifacts through their real tools (promtool, python, pytest) in a scratch directory."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

TOOL_TIMEOUT_S = 120
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
OUTPUT_TAIL = 1500


def run_tools(files: list[Path], commands: list[tuple[str, list[str]]]) -> pd.DataFrame:
    """Copy ``files`` into a scratch directory and run each command there (with a timeout).

    Returns one row per command: command, exit status, the tail of its output.  A command that times out gets
    exit status -1 and says so.
    """
    rows = []
    with tempfile.TemporaryDirectory(prefix="irlib-tools-") as tmp:
        for path in files:
            shutil.copy(path, Path(tmp) / path.name)
        for label, argv in commands:
            try:
                done = subprocess.run(argv, cwd=tmp, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
                status, output = done.returncode, done.stdout + done.stderr
            except subprocess.TimeoutExpired:
                status, output = -1, f"timed out after {TOOL_TIMEOUT_S} s"
            rows.append({"command": label, "exit status": status,
                         "output": _ANSI.sub("", output).strip()[-OUTPUT_TAIL:]})
    return pd.DataFrame(rows, columns=["command", "exit status", "output"])


def all_passed(table: pd.DataFrame) -> bool:
    return bool(len(table)) and bool((table["exit status"] == 0).all())
