"""Shared test set-up.  Paths come from ``__file__``; servers are started by fixtures in ``tests/servers.py``."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def missing_server(reason: str) -> None:
    """Skip locally, but fail under CI (CI=true): a required server must never be skipped silently there."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"required server missing under CI: {reason}")
    pytest.skip(reason)
