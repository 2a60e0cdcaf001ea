"""``irlib logs``: the streaming log analysis on files or standard input, from a shell.

    kubectl logs deploy/orders --since=1h | irlib logs -
    irlib logs /var/log/app.log.1.gz /var/log/app.log --top 20
    irlib logs --json app.log > summary.json

For each input: records and lines read, the detected (or given) format, times that could not be read, records per
level, the most frequent templates and the error classes.  Examples are redacted as evidence is (tokens, passwords,
keys).  Exit status: 0 done; 2 an input cannot be read or an option is wrong (the other inputs are still analysed).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import pandas as pd

from .errors import IrlibError
from .logs.formats import FORMATS, canonical_format
from .logs.stream import LogSummary, analyse_file, analyse_stream
from .redact import Redactor


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="irlib logs", description="Templates, levels and error classes of log files or standard input ('-'), "
        "read in bounded memory (plain or gzip; text, JSON lines, logfmt, access logs...).")
    parser.add_argument("inputs", nargs="+", metavar="FILE", help="log file (plain or gzip), or - for standard input")
    parser.add_argument("--format", default=None, help="log format when detection is not wanted "
                        "(generic, syslog, glog, json, logfmt, access, docker, plain, ...)")
    parser.add_argument("--encoding", default=None, help="text encoding when not UTF-8/UTF-16 (cp1252, gbk, ...)")
    parser.add_argument("--timezone", default="UTC", help="zone of times written without an offset (default UTC)")
    parser.add_argument("--year-from", default="", metavar="TIME",
                        help="a time whose year dates yearless syslog times (default: now)")
    parser.add_argument("--top", type=int, default=10, help="templates and error classes shown (default 10)")
    parser.add_argument("--json", action="store_true", help="one JSON object per input instead of tables")
    return parser


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and 2
    try:
        reference = pd.Timestamp(args.year_from or pd.Timestamp.now(tz="UTC"))
        reference = reference.tz_localize("UTC") if reference.tzinfo is None else reference.tz_convert("UTC")
    except (ValueError, TypeError) as exc:
        print(f"irlib logs: --year-from {args.year_from!r} is not a time ({exc}); give e.g. 2026-12-04",
              file=sys.stderr)
        return 2
    if args.format:
        try:
            canonical_format(args.format)
        except IrlibError:
            print(f"irlib logs: unknown log format {args.format!r}; use one of {', '.join(FORMATS)} "
                  f"(or leave --format out to detect it)", file=sys.stderr)
            return 2
    status = 0
    redactor = Redactor()
    for name in args.inputs:
        try:
            options: dict[str, Any] = {"fmt": args.format, "encoding": args.encoding, "reference": reference,
                                       "timezone": args.timezone}
            summary = (analyse_stream(sys.stdin.buffer, **options) if name == "-"
                       else analyse_file(name, **options))
        except IrlibError as exc:
            print(f"irlib logs: {exc}", file=sys.stderr)
            status = 2
            continue
        out = summary_dict(name, summary, args.top, redactor)
        print(json.dumps(out, ensure_ascii=False) if args.json else summary_text(out), flush=True)
    return status


def summary_dict(name: str, summary: LogSummary, top: int, redactor: Redactor) -> dict[str, Any]:
    """What ``irlib logs`` reports for one input, as plain JSON-ready values (examples redacted)."""
    templates = redactor.frame(summary.templates().head(top))
    errors = redactor.frame(summary.error_classes().head(top))
    return {"input": name, "records": summary.records, "lines": summary.lines, "format": summary.format,
            "unparsed_times": summary.unparsed_times, "levels": dict(sorted(summary.levels.items())),
            "templates": _rows(templates), "error_classes": _rows(errors)}


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for record in frame.to_dict(orient="records"):
        rows.append({k: (v.isoformat() if isinstance(v, pd.Timestamp) else None if pd.isna(v) else
                         int(v) if k == "count" else v) for k, v in record.items()})
    return rows


def summary_text(out: dict[str, Any]) -> str:
    """The report for one input as text tables."""
    levels = ", ".join(f"{level or '(none)'} {count}" for level, count in out["levels"].items()) or "none"
    lines = [f"== {out['input']}: {out['records']} records in {out['lines']} lines, format {out['format'] or '?'}, "
             f"{out['unparsed_times']} unreadable times", f"levels: {levels}", "", "top templates:"]
    lines += [f"{row['count']:>10}  {row['level'] or '-':5}  {row['template']}" for row in out["templates"]] or [
        "  (none)"]
    lines += ["", "error classes:"]
    lines += [f"{row['count']:>10}  {row['kind']:9}  {row['error_class']}   first {row['first_seen'] or '?'}"
              for row in out["error_classes"]] or ["  (none)"]
    return "\n".join(lines) + "\n"
