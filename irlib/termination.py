"""Stopping long-running commands (``irlib lab``, ``irlib webhook``) cleanly however they are stopped.

Ctrl-C raises KeyboardInterrupt, and the commands' cleanup (stopping the servers they started, closing the listening
socket) runs from it.  A supervisor stops a process with SIGTERM instead (systemd, Kubernetes, ``timeout``), a closed
terminal with SIGHUP; by default both kill Python without any cleanup, which left every lab server running.
"""
from __future__ import annotations

import signal
from types import FrameType


def interrupt_on_termination() -> None:
    """From now on SIGTERM and SIGHUP raise KeyboardInterrupt in the main thread, as Ctrl-C does (call it from a
    command's main, never at import)."""
    def _raise(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"stopped by signal {signal.Signals(signum).name}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise)
