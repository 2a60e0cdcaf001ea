"""The ``irlib`` command: run, demo, verify, logs, lab, webhook.

Exit status: 0 success; 1 a step failed (the report is still written) or verification failed; 2 bad input.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import IrlibError, ParameterError


def _progress(started: float) -> "callable":
    def say(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)
    return say


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="irlib", description="Incident-investigation runbooks as notebooks.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute the runbook notebooks for an incident")
    run.add_argument("params", help="incident parameters YAML, e.g. parameters/demo.yaml")
    run.add_argument("--steps", default="", help="comma-separated steps, e.g. 01,02,05 (default: all twelve)")
    run.add_argument("--replay", default="", help="a run directory whose evidence answers every fetch (offline)")
    run.add_argument("--jobs", type=int, default=2, help="notebooks executed at once (default 2)")
    run.add_argument("--reports", default="", help="reports directory (default: the project's reports/)")
    run.add_argument("--timeout", type=float, default=0, help="per-notebook timeout in seconds")
    demo = sub.add_parser("demo", help="run all twelve steps on the embedded demo incident")
    demo.add_argument("--jobs", type=int, default=2)
    demo.add_argument("--reports", default="")
    verify = sub.add_parser("verify", help="recompute every hash of a run directory")
    verify.add_argument("run_dir")
    verify.add_argument("--hmac-key-env", default="IRLIB_HMAC_KEY",
                        help="environment variable holding the HMAC key (default IRLIB_HMAC_KEY)")
    verify.add_argument("--expect", default="", help="the manifest hash recorded elsewhere (e.g. in the ticket)")
    sub.add_parser("logs", help="templates, levels and error classes of log files or stdin (irlib logs -h)",
                   add_help=False)
    sub.add_parser("lab", help="the incident lab on loopback (see docs/lab.md)", add_help=False)
    sub.add_parser("webhook", help="Alertmanager webhook receiver that declares incidents", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # skip a 1.5 s grammar build
    if argv and argv[0] == "lab":
        from .lab.cli import main as lab_main
        return lab_main(argv[1:])
    if argv and argv[0] == "logs":
        from .logs_cli import main as logs_main
        return logs_main(argv[1:])
    if argv and argv[0] == "webhook":
        from .webhook import main as webhook_main
        return webhook_main(argv[1:])
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and 2
    try:
        if args.command == "verify":
            return _verify(args)
        if args.command == "demo":
            from .investigation import demo_params_path
            return _run(demo_params_path(), steps="", replay="", jobs=args.jobs, reports=args.reports, timeout=0)
        return _run(Path(args.params), steps=args.steps, replay=args.replay, jobs=args.jobs, reports=args.reports,
                    timeout=args.timeout)
    except ParameterError as exc:
        print(f"irlib: {exc}", file=sys.stderr)
        return 2
    except IrlibError as exc:
        print(f"irlib: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. a reports directory that cannot be created
        print(f"irlib: {exc.strerror or exc}: {exc.filename or ''}; check the path and its permissions",
              file=sys.stderr)
        return 2


def _run(params: Path, *, steps: str, replay: str, jobs: int, reports: str, timeout: float) -> int:
    from .runner import run_incident
    from .timeutil import utc_now

    if jobs < 1:
        raise ParameterError("must be at least 1", key="--jobs")
    if timeout < 0:
        raise ParameterError("must be a positive number of seconds (0: the parameters' or the default limit)",
                             key="--timeout")
    if replay and replay != "irlib:demo" and not (Path(replay) / "evidence").is_dir():
        raise ParameterError(f"{replay} is not a run directory with an evidence/ folder; give a run directory "
                             "such as reports/<incident>/<UTC stamp> to replay", key="--replay")
    say = _progress(time.monotonic())
    result = run_incident(params, steps=steps or None, replay=Path(replay) if replay else None, jobs=jobs,
                          reports_dir=Path(reports) if reports else None, now=utc_now(), progress=say,
                          timeout_s=timeout or None)
    failed = [n for n, status in result.steps if status != "ok"]
    if failed:
        print(f"irlib: {'step' if len(failed) == 1 else 'steps'} {', '.join(failed)} failed; the report shows where", file=sys.stderr)
    print(f"manifest hash: {result.manifest_hash}", file=sys.stderr)
    print(result.index_html)
    return result.exit_code


def _verify(args: argparse.Namespace) -> int:
    from .manifest import hmac_key_from_env, verify_run

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise ParameterError(f"{run_dir} is not a directory; give a run directory such as "
                             "reports/<incident>/<UTC stamp>", key="RUN_DIR")
    result = verify_run(run_dir, hmac_key=hmac_key_from_env(args.hmac_key_env), expected_hash=args.expect or None)
    for line in result.describe():
        print(line)
    return 0 if result.ok and result.complete else 1


if __name__ == "__main__":
    raise SystemExit(main())
