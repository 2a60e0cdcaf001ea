"""A real Prometheus on loopback, with history written before start by ``promtool tsdb create-blocks-from``.

:func:`write_openmetrics` writes series (numpy arrays of times and values) as an OpenMetrics file;
:func:`backfill` turns such files into TSDB blocks with promtool; :func:`start_prometheus` runs the server on those
blocks (optionally with scrape configs, rule files and an Alertmanager, for the lab) and waits until it is ready.

Backfilled blocks are read like any other block, provided (1) the retention is longer than the age of the oldest
sample (the default here is ten years) and (2) the blocks lie before the head: write history that ends before the
server starts, so samples scraped after start never overlap it.
"""
from __future__ import annotations

import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import IrlibError
from . import ServerProcess, free_port, require_binary, spawn, wait_for_port

PACKAGE = "prometheus"


@dataclass(frozen=True)
class Series:
    """One series to write: sample name, labels, epoch-second times (increasing) and values (NaN/±Inf allowed)."""

    name: str
    labels: Mapping[str, str]
    times_s: np.ndarray
    values: np.ndarray
    kind: str = "gauge"
    help: str = ""


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(series: Series) -> str:
    if series.kind == "counter" and series.name.endswith("_total"):
        return series.name[: -len("_total")]
    return series.name


def _value_texts(values: np.ndarray) -> list[str]:
    texts = [repr(v) for v in values.astype(np.float64).tolist()]
    for i in np.flatnonzero(~np.isfinite(values)):
        v = float(values[i])
        texts[i] = "NaN" if np.isnan(v) else ("+Inf" if v > 0 else "-Inf")
    return texts


def write_openmetrics(path: Path, series: Iterable[Series]) -> int:
    """Write ``series`` to ``path`` as OpenMetrics text (grouped by family, ``# EOF`` at the end); return samples.

    Counters must be named ``<family>_total``; ``kind`` is ``gauge``, ``counter`` or ``unknown`` (use ``unknown``
    or ``gauge`` for histogram ``_bucket`` series written one by one).
    """
    by_family: dict[str, list[Series]] = {}
    for s in series:
        by_family.setdefault(_family(s), []).append(s)
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        for family, members in by_family.items():
            out.write(f"# TYPE {family} {members[0].kind}\n")
            if members[0].help:
                out.write(f"# HELP {family} {_escape(members[0].help)}\n")
            for s in members:
                label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in s.labels.items())
                head = f"{s.name}{{{label_text}}} " if label_text else f"{s.name} "
                times = np.char.mod("%.3f", np.asarray(s.times_s, dtype=np.float64)).tolist()
                lines = [f"{head}{v} {t}\n" for v, t in zip(_value_texts(np.asarray(s.values)), times)]
                out.write("".join(lines))
                written += len(lines)
        out.write("# EOF\n")
    return written


def backfill(openmetrics: Path, data_dir: Path, *, max_block_duration: str = "24h", timeout_s: float = 300) -> None:
    """Create TSDB blocks in ``data_dir`` from an OpenMetrics file with ``promtool tsdb create-blocks-from``."""
    promtool = require_binary("promtool", PACKAGE)
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet",
            f"--max-block-duration={max_block_duration}", str(openmetrics), str(data_dir)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise IrlibError(f"promtool could not backfill {openmetrics}: {(done.stderr or done.stdout).strip()[-600:]}")


def write_config(path: Path, *, scrape_configs: Sequence[Mapping[str, Any]] = (),
                 rule_files: Sequence[Path] = (), alertmanager_url: str | None = None,
                 scrape_interval: str = "15s", evaluation_interval: str = "15s") -> None:
    """Write a prometheus.yml with the given scrape jobs, rule files and Alertmanager."""
    config: dict[str, Any] = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": evaluation_interval},
        "scrape_configs": [dict(c) for c in scrape_configs],
    }
    if rule_files:
        config["rule_files"] = [str(p) for p in rule_files]
    if alertmanager_url:
        target = alertmanager_url.split("://", 1)[-1].rstrip("/")
        scheme = alertmanager_url.split("://", 1)[0] if "://" in alertmanager_url else "http"
        config["alerting"] = {"alertmanagers": [{"scheme": scheme, "static_configs": [{"targets": [target]}]}]}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def start_prometheus(workdir: Path | None = None, *, history: Sequence[Path] = (),
                     scrape_configs: Sequence[Mapping[str, Any]] = (), rule_files: Sequence[Path] = (),
                     alertmanager_url: str | None = None, scrape_interval: str = "15s",
                     evaluation_interval: str = "15s", retention: str = "3650d", port: int | None = None,
                     ready_timeout_s: float = 60.0) -> ServerProcess:
    """Start Prometheus on 127.0.0.1 with ``history`` (OpenMetrics files) backfilled first; wait until ready.

    ``workdir`` (a new temp dir when not given) holds ``data/``, ``prometheus.yml`` and ``prometheus.log``.
    Stop it with :meth:`ServerProcess.stop`.
    """
    binary = require_binary("prometheus", PACKAGE, "/usr/bin/prometheus")
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="irlib-prometheus-"))
    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    for file in history:
        backfill(Path(file), data)
    config = work / "prometheus.yml"
    write_config(config, scrape_configs=scrape_configs, rule_files=rule_files, alertmanager_url=alertmanager_url,
                 scrape_interval=scrape_interval, evaluation_interval=evaluation_interval)
    port = port or free_port()
    args = [binary, f"--config.file={config}", f"--storage.tsdb.path={data}",
            f"--storage.tsdb.retention.time={retention}", f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle", "--log.level=warn"]
    proc = spawn(args, log=work / "prometheus.log", cwd=work)
    server = ServerProcess("prometheus", proc, port, work, {"config": str(config), "data": str(data)})
    try:
        wait_for_port(port, ready_timeout_s, proc)
        wait_ready(server.url, ready_timeout_s, proc)
    except IrlibError:
        server.stop()
        log = (work / "prometheus.log").read_text(encoding="utf-8", errors="replace")[-800:]
        raise IrlibError(f"prometheus did not become ready on port {port}; its log ends with:\n{log}") from None
    return server


def wait_ready(url: str, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Block until ``<url>/-/ready`` answers 200 (the TSDB is loaded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise IrlibError(f"prometheus exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise IrlibError(f"{url}/-/ready did not answer 200 within {timeout_s:.0f} s")
