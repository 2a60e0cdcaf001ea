"""``irlib lab``: start the lab, run a scenario end to end, or record the demo bundle from scenario 1.

    irlib lab up [--dir DIR]                 start everything, print URLs and the params path; Ctrl-C stops
    irlib lab scenario N [--dir DIR]         start, inject scenario N, wait for the alert and the runbook run,
                                             print the report path and the findings against the ground truth,
                                             stop; exit 0 all agree, 1 the run failed, 3 a finding misses
    irlib lab record-demo [--dir DIR]        scenario 1, then copy its evidence into the package's demo bundle
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from ..errors import IrlibError
from ..termination import interrupt_on_termination
from . import config
from .lab import Lab, LabSettings
from .demo import record
from .scenarios import ScenarioRun, run_scenario
from .truth import checks_against_truth, findings_of_run

PACKAGE = Path(__file__).resolve().parent.parent
DEMO_BUNDLE = PACKAGE / "demo" / "bundle"
DEMO_PARAMS = PACKAGE.parent / "parameters" / "demo.yaml"


def say(text: str) -> None:
    sys.stdout.write(f"[lab {time.strftime('%H:%M:%S')}] {text}\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="irlib lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    for name in ("up", "scenario", "record-demo"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--dir", type=Path, default=None, help="lab directory (default: a new temp dir)")
        cmd.add_argument("--memory-limit-mb", type=int, default=96)
        if name != "up":
            cmd.add_argument("--baseline", type=float, default=270.0,
                             help="seconds of normal traffic first (past the warm-up and the 4 min alert look-back)")
            cmd.add_argument("--timeout", type=float, default=600.0)
        if name == "scenario":
            cmd.add_argument("number", type=int, choices=range(1, 6))
    args = parser.parse_args(argv or ["up"])
    interrupt_on_termination()  # SIGTERM / SIGHUP stop the lab's servers as Ctrl-C does
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="irlib-lab-"))
    lab = Lab(workdir.resolve(), LabSettings(memory_limit_mb=args.memory_limit_mb))
    say(f"starting the lab in {lab.workdir}")
    try:
        lab.start()
        for name, url in lab.urls().items():
            say(f"{name:12s} {url}")
        say(f"parameters  {lab.params_path}  (export {config.DSN_ENV}=... is set inside the lab process)")
        if args.command in (None, "up"):
            say(f"to use the parameters from another shell: export {config.DSN_ENV}='{lab.pg.dsn(config.APP)}'"
                if lab.pg else "")
            return _wait_forever(lab)
        if args.command == "record-demo":
            result = record(lab, DEMO_BUNDLE, DEMO_PARAMS, baseline_s=max(args.baseline, 240.0), say=say)
            say(f"report of the recording run: {result.index_html}")
            say(f"demo bundle written to {DEMO_BUNDLE} and parameters to {DEMO_PARAMS}")
            return result.exit_code
        number = args.number
        run = run_scenario(lab, number, baseline_s=args.baseline, timeout_s=args.timeout, say=say)
        _report(run)
        if run.status.get("state") != "done":
            return 1
        return 0 if _report_truth(run) else 3
    except (IrlibError, TimeoutError) as exc:
        say(f"error: {exc}")
        return 1
    except KeyboardInterrupt as exc:
        say(f"interrupted ({exc or 'Ctrl-C'})")
        return 130
    finally:
        say("stopping the lab")
        lab.stop()


def _wait_forever(lab: Lab) -> int:
    say("lab is up; stop it with Ctrl-C or SIGTERM (each scenario command starts a lab of its own: see docs/lab.md)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


def _report(run: ScenarioRun) -> None:
    say(f"incident {run.incident_id}: run {run.status.get('state')} (exit code {run.status.get('exit_code')})")
    if run.status.get("error"):
        say(f"run error: {run.status['error']}")
    say(f"ground truth: {Path(run.incident_dir).parent.parent / 'scenarios' / f'{run.truth.scenario}.json'}")
    if run.status.get("index_html"):
        say(f"report: {run.status['index_html']}")


def _report_truth(run: ScenarioRun) -> bool:
    """Say how the run's findings compare with the ground truth, check by check; whether all agree."""
    checks = checks_against_truth(run.truth, findings_of_run(run.run_dir)) if run.run_dir else []
    for check in checks:
        say(f"{'ok  ' if check.ok else 'MISS'} {check.what:12s} expected {check.expected}; found {check.found}")
    agreed = sum(check.ok for check in checks)
    say(f"findings match the ground truth: {agreed} of {len(checks)} checks" if checks else
        "no run directory: nothing to compare with the ground truth")
    return bool(checks) and agreed == len(checks)
