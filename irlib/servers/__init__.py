"""Real servers started on loopback in temp dirs (used by the tests and by `irlib lab`).

Each module starts one kind of server (``prometheus``, ``postgres``, ``mariadb``, ``alertmanager``) as a
:class:`ServerProcess`; :func:`require_binary` finds its program or explains how to install it.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IrlibError


class ServerMissing(IrlibError):
    """A server program is not installed; the message says which Debian package provides it."""


def require_binary(name: str, package: str, *candidates: str) -> str:
    """The path of program ``name`` (or one of ``candidates``), else :class:`ServerMissing` naming the package."""
    for cand in (name, *candidates):
        found = shutil.which(cand) or (cand if os.path.isabs(cand) and os.access(cand, os.X_OK) else None)
        if found:
            return found
    raise ServerMissing(f"{name} is not installed: run `make sysdeps` (apt-get install {package})")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Block until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise IrlibError(f"server exited with status {proc.returncode} before listening on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise IrlibError(f"nothing listened on 127.0.0.1:{port} within {timeout_s:.0f} s")


@dataclass
class ServerProcess:
    """A started server: its process, port and directory; :meth:`stop` ends it (SIGTERM, then SIGKILL)."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
            self.proc.wait(timeout=timeout_s)


def spawn(args: list[str], *, log: Path, env: dict[str, str] | None = None, cwd: Path | None = None,
          user: str | None = None) -> subprocess.Popen[bytes]:
    """Start ``args`` in its own process group with output to ``log`` (as ``user`` when given and we are root)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    out = open(log, "ab")  # noqa: SIM115 - owned by the child
    kwargs: dict[str, object] = {}
    if user and os.geteuid() == 0:
        kwargs["user"] = user
    return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                            start_new_session=True, **kwargs)  # type: ignore[call-overload]
