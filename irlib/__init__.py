"""irlib: incident-investigation runbooks as parameterised notebooks, with tamper-evident evidence bundles.

Notebooks use ``from irlib import open_investigation, steps``; everything else is imported where it is used.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .investigation import Investigation


def open_investigation(params: str = "", run_dir: str = "", replay: str = "", step: str = "",
                       now: str = "") -> "Investigation":
    """Open the investigation a notebook works in (see :func:`irlib.investigation.open_investigation`)."""
    from .investigation import open_investigation as _open

    return _open(params, run_dir=run_dir, replay=replay, step=step, now=now)
