"""``irlib logs``: the streaming log analysis on files or standard input, from a shell.

    kubectl logs deploy/orders --since=1h | irlib logs -
    irlib logs /var/log/app.log.1.gz /var/log/app.log --top 20
    irlib logs --json app.log > summary.json

For each input: records and lines read, the detected (or given) format, times that could not be read, records per
level, the most frequent templates and the error classes.  Examples are redacted as evidence is (tokens, passwords,
keys).  Text output shows control characters as \\xNN and cuts long templates; JSON keeps up to 4,096 characters of
each.  Warnings (empty input, a file that looks binary, lines with bytes invalid in the encoding) head the report
and go to standard error.  An input that looks binary gets its counts only: its templates, error classes and
examples would be noise (bytes read as text), so none are shown (``--json``: ``looks_binary: true`` and empty
lists).  Exit status: 0 done; 1 an input looks binary, not a text log; 2 an input cannot be read or an option is
wrong (the other inputs are still analysed; the highest status wins).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import IrlibError
from .logs.formats import FORMATS, canonical_format
from .logs.readers import LogReadError
from .logs.stream import LogSummary, analyse_file, analyse_stream
from .redact import Redactor


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="irlib logs", description="Templates, levels and error classes of log files or standard input ('-'), "
        "read in bounded memory (plain or gzip; text, JSON lines, logfmt, access logs...).",
        epilog="Examples and templates are redacted (tokens, passwords, keys). An input that looks binary gets its "
        "counts and a warning, no templates or error classes. Exit status: 0 done; 1 an input looks binary, not a "
        "text log; 2 an input cannot be read or an option is wrong (the other inputs are still analysed; the "
        "highest status wins).")
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
    problem = _bad_option(args)
    if problem:
        print(f"irlib logs: {problem}", file=sys.stderr)
        return 2
    reference = _reference(args.year_from)
    try:
        return _analyse_inputs(args, reference)
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _bad_option(args: argparse.Namespace) -> str:
    """What is wrong with the options, "" when nothing is."""
    if args.top < 1:
        return f"--top must be 1 or more, got {args.top}"
    if args.format:
        try:
            canonical_format(args.format)
        except IrlibError:
            return (f"unknown log format {args.format!r}; use one of {', '.join(FORMATS)} (or leave --format out "
                    "to detect it)")
    try:
        _reference(args.year_from)
    except (ValueError, TypeError) as exc:
        return f"--year-from {args.year_from!r} is not a time ({exc}); give e.g. 2026-12-04"
    try:
        pd.Timestamp("2026-01-01").tz_localize(args.timezone)
    except Exception:  # noqa: BLE001  (pytz, zoneinfo and dateutil raise different errors for an unknown zone)
        return f"--timezone {args.timezone!r} is not a time zone; give an IANA name such as Europe/Berlin, or UTC"
    return ""


def _reference(year_from: str) -> pd.Timestamp:
    reference = pd.Timestamp(year_from or pd.Timestamp.now(tz="UTC"))
    return reference.tz_localize("UTC") if reference.tzinfo is None else reference.tz_convert("UTC")


def _analyse_inputs(args: argparse.Namespace, reference: pd.Timestamp) -> int:
    status = 0
    redactor = Redactor()
    options: dict[str, Any] = {"fmt": args.format, "encoding": args.encoding, "reference": reference,
                               "timezone": args.timezone, "redact": redactor.text}
    for name in args.inputs:
        try:
            summary = _analyse_one(name, options)
            out = summary_dict(name, summary, args.top, redactor)
        except IrlibError as exc:
            print(f"irlib logs: {exc}", file=sys.stderr)
            status = 2
            continue
        for warning in out["warnings"]:
            print(f"irlib logs: {name}: {warning}", file=sys.stderr)
        print(json.dumps(out, ensure_ascii=False) if args.json else summary_text(out), flush=True)
        if out["looks_binary"]:
            status = max(status, 1)
    return status


def _analyse_one(name: str, options: dict[str, Any]) -> LogSummary:
    """A file, standard input ("-"), or a pipe / process substitution such as ``<(zcat a.gz)`` read as a stream."""
    if name == "-":
        return analyse_stream(sys.stdin.buffer, **options)
    path = Path(name)
    if path.exists() and not path.is_file() and not path.is_dir():
        try:
            with path.open("rb") as stream:
                return analyse_stream(stream, name=name, **options)  # type: ignore[arg-type]
        except OSError as exc:
            raise LogReadError(f"cannot read {name}: {exc.strerror or exc}") from exc
    return analyse_file(path, **options)


def summary_dict(name: str, summary: LogSummary, top: int, redactor: Redactor) -> dict[str, Any]:
    """What ``irlib logs`` reports for one input, as plain JSON-ready values (examples redacted).  An input that
    looks binary gets its counts only: no templates or error classes (they would be bytes read as text)."""
    binary = bool(summary.looks_binary)
    templates = pd.DataFrame() if binary else redactor.frame(summary.templates().head(top))
    errors = pd.DataFrame() if binary else redactor.frame(summary.error_classes().head(top))
    return {"input": name, "records": summary.records, "lines": summary.lines, "format": summary.format,
            "unparsed_times": summary.unparsed_times, "undecodable_lines": summary.undecodable_lines,
            "looks_binary": binary, "warnings": warnings(summary),
            "levels": dict(sorted(summary.levels.items())), "templates": _rows(templates),
            "error_classes": _rows(errors)}


def warnings(summary: LogSummary) -> list[str]:
    """What the reader of the report should know before trusting it: empty input, a binary file, bytes that were
    not valid in the encoding."""
    if summary.lines == 0:
        return ["empty input: no lines"]
    out = []
    if summary.looks_binary:
        out.append("the input looks binary (NUL or control bytes), not a text log: its templates and error classes "
                   "would be noise and are not shown; give the log file itself (or --encoding if it is UTF-16/UTF-32 "
                   "text)")
    if summary.undecodable_lines:
        out.append(f"{summary.undecodable_lines} of {_count(summary.lines, 'line')} had bytes not valid in the "
                   "encoding (read as U+FFFD); give --encoding if the log is not UTF-8")
    return out


def _count(number: int, noun: str) -> str:
    """``1 line``, ``5 lines``."""
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for record in frame.to_dict(orient="records"):
        rows.append({k: (v.isoformat() if isinstance(v, pd.Timestamp) else None if pd.isna(v) else
                         int(v) if k == "count" else _capped(v)) for k, v in record.items()})
    return rows


JSON_TEXT_MAX = 4096  # characters of one template or example in the JSON output
SHOWN_TEXT_MAX = 240  # ... and in the text tables
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _shown(text: Any, limit: int) -> str:
    """One line for a terminal: control characters as \\xNN (a log line cannot move the cursor or ring), cut."""
    value = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text).replace("\n", " ⏎ "))
    return value if len(value) <= limit else value[: limit - 1] + "…"


def summary_text(out: dict[str, Any]) -> str:
    """The report for one input as text tables."""
    if not out["lines"]:
        return f"== {out['input']}: empty input: no lines\n"
    levels = ", ".join(f"{level or '(none)'} {count}" for level, count in out["levels"].items()) or "none"
    lines = [f"== {out['input']}: {_count(out['records'], 'record')} in {_count(out['lines'], 'line')}, format "
             f"{out['format'] or '?'}, {out['unparsed_times']} without a readable time"]
    lines += [f"warning: {_shown(w, 400)}" for w in out.get("warnings", [])]
    lines += [f"levels: {levels}"]
    if out.get("looks_binary"):
        return "\n".join([*lines, "templates and error classes: not shown (the input looks binary)"]) + "\n"
    lines += ["", "top templates:"]
    lines += [f"{row['count']:>10}  {row['level'] or '-':5}  {_shown(row['template'], SHOWN_TEXT_MAX)}"
              for row in out["templates"]] or [
        "  (none)"]
    lines += ["", "error classes:"]
    lines += [f"{row['count']:>10}  {row['kind']:9}  {_shown(row['error_class'], SHOWN_TEXT_MAX)}   "
              f"first {row['first_seen'] or '?'}"
              for row in out["error_classes"]] or ["  (none)"]
    return "\n".join(lines) + "\n"


def _capped(value: Any) -> Any:
    if isinstance(value, str) and len(value) > JSON_TEXT_MAX:
        return value[:JSON_TEXT_MAX] + f"… [{len(value) - JSON_TEXT_MAX} more characters]"
    return value
