"""Shared test set-up.  Paths come from ``__file__``; servers are started by fixtures in ``tests/servers.py``."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
Server = TypeVar("Server", bound=Any)


def missing_server(reason: str) -> None:
    """Skip locally, but fail under CI (CI=true): a required server must never be skipped silently there."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"required server missing under CI: {reason}")
    pytest.skip(reason)


@contextmanager
def serving(start: Callable[[], Server]) -> Iterator[Server]:
    """The server ``start()`` returns, stopped on exit; a server not installed is :func:`missing_server`."""
    from irlib.servers import ServerMissing

    try:
        server = start()
    except ServerMissing as exc:
        missing_server(str(exc))
    try:
        yield server
    finally:
        server.stop()
