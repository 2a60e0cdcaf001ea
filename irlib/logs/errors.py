"""Error classes (exception types, HTTP 5xx, errno, SQLSTATE) and stack-trace signatures of log records.

:func:`classify_errors` finds, in bulk (RE2), at most one class per message (the exception type when there is one,
see :data:`PREFERENCE`).  :func:`stack_signature`
reads one multi-line record (Java, Python, JavaScript or Go trace) and returns its exception and normalised top frames.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .parallel import concat, sliced_map

_EXC = (r"(?:[a-z_$][\w$]*\.)*(?:[A-Z][\w$]*(?:Error|Exception|Exit|Interrupt|Fault|Failure)"
        r"|[a-z_][\w$]*(?:Error|Exception))")
EXCEPTION_PATTERN = r"(?P<c>\b" + _EXC + r"|\bpanic\b)"
HTTP_PATTERN = (r"(?:HTTP/\d(?:\.\d)?\"?\s+|\b(?:status|status_code|code|http_status|statusCode|HTTP)[=:\s\"]+)"
                r"(?P<c>5\d\d)\b")
ERRNO_PATTERN = (r"\b(?P<c>E(?:CONNREFUSED|CONNRESET|CONNABORTED|TIMEDOUT|HOSTUNREACH|NETUNREACH|PIPE|ACCES|NOENT|"
                 r"NOMEM|NOSPC|ADDRINUSE|ADDRNOTAVAIL|AGAIN|MFILE|NFILE|PERM|IO|EXIST|INVAL|BADF|NOTCONN|SHUTDOWN|"
                 r"ROFS|DQUOT|BUSY|NOTFOUND|AI_AGAIN|PROTO|OVERFLOW))\b")
ERRNO_PHRASES: dict[str, str] = {
    "Connection refused": "ECONNREFUSED", "Connection reset by peer": "ECONNRESET", "Broken pipe": "EPIPE",
    "Connection timed out": "ETIMEDOUT", "No such file or directory": "ENOENT", "Permission denied": "EACCES",
    "No space left on device": "ENOSPC", "Too many open files": "EMFILE", "Cannot allocate memory": "ENOMEM",
    "No route to host": "EHOSTUNREACH", "Network is unreachable": "ENETUNREACH",
    "Address already in use": "EADDRINUSE", "Read-only file system": "EROFS",
}
SQLSTATE_PATTERN = (r"(?:\b(?:SQLSTATE|sqlstate|sql_error_code|SQL state|error_code)[\s=:\[\]\"]*|ERROR \d{4} \()"
                    r"(?P<c>[0-9A-Z]{2}[0-9A-Z]{3})\b")
SQLSTATE_PHRASES: dict[str, str] = {
    "deadlock detected": "40P01", "could not serialize access": "40001", "Deadlock found": "40001",
    "canceling statement due to statement timeout": "57014", "too many connections": "53300",
    "duplicate key value violates unique constraint": "23505", "Lock wait timeout exceeded": "HY000",
}
KINDS: tuple[tuple[str, str], ...] = (("exception", EXCEPTION_PATTERN), ("http", HTTP_PATTERN),
                                      ("errno", ERRNO_PATTERN), ("sqlstate", SQLSTATE_PATTERN))
# A message gets one class, of the first kind here it has: the exception type names the failure, a SQLSTATE the
# database's exact condition, an errno the system call's; an HTTP 5xx status is the least specific.  So
# "ConnectionResetError: [Errno 104] Connection reset by peer" counts once, as ConnectionResetError, not also as
# ECONNRESET (the error-class frames have no column for a second, detail class).
PREFERENCE: tuple[str, ...] = ("exception", "sqlstate", "errno", "http")
ANY_PATTERN = "|".join([p for _, p in KINDS] + [re.escape(p) for p in (*ERRNO_PHRASES, *SQLSTATE_PHRASES)]
                       ).replace("?P<c>", "")


def classify_errors(messages: pa.Array) -> list[tuple[str, pa.Array, pa.Array]]:
    """For each kind: (kind, row indices, class per row) of the messages that carry a class of that kind.

    A message carries at most one class in all: of the first kind of :data:`PREFERENCE` it has.

    Identical messages are classified once (a dictionary encoding first; the regexes run on the distinct ones).
    """
    if isinstance(messages, pa.ChunkedArray):
        messages = messages.combine_chunks()
    encoded = pc.dictionary_encode(messages)
    if len(encoded.dictionary) == len(messages):
        return _classify_distinct(messages)
    out: list[tuple[str, pa.Array, pa.Array]] = []
    for kind, rows, classes in _classify_distinct(encoded.dictionary):
        position = np.full(len(encoded.dictionary), -1, np.int64)
        position[rows.to_numpy()] = np.arange(len(rows))
        per_distinct = pc.take(classes, pa.array(position, mask=position < 0))
        per_row = pc.take(per_distinct, encoded.indices)
        hit = pc.indices_nonzero(pc.is_valid(per_row))
        out.append((kind, hit, pc.take(per_row, hit)))
    return out


def _classify_distinct(messages: pa.Array) -> list[tuple[str, pa.Array, pa.Array]]:
    out: list[tuple[str, pa.Array, pa.Array]] = []
    hits = concat(sliced_map(lambda part: pc.match_substring_regex(part, pattern=ANY_PATTERN), messages))
    candidates = pc.indices_nonzero(pc.fill_null(hits, False))
    subset = pc.take(messages, candidates)  # one pass over everything; the rest runs on the few candidates
    found: dict[str, pa.Array] = {}
    taken = None  # messages that already have a class of a preferred kind
    for kind in PREFERENCE:
        classes = _first_match(subset, dict(KINDS)[kind])
        if kind == "errno":
            classes = _fill_from_phrases(subset, classes, ERRNO_PHRASES)
        if kind == "sqlstate":
            classes = _fill_from_phrases(subset, classes, SQLSTATE_PHRASES)
        if kind == "http":
            classes = pc.binary_join_element_wise(pa.scalar("HTTP", classes.type), classes, pa.scalar(" ", classes.type))
        if taken is not None:  # one message, one class: a less preferred kind's class is a detail of the first
            classes = pc.if_else(taken, pa.scalar(None, classes.type), classes)
        has = pc.is_valid(classes)
        taken = has if taken is None else pc.or_(taken, has)
        found[kind] = classes
    for kind, _ in KINDS:
        rows = pc.indices_nonzero(pc.is_valid(found[kind]))
        out.append((kind, pc.take(candidates, rows), pc.take(found[kind], rows)))
    return out


def _first_match(messages: pa.Array, pattern: str) -> pa.Array:
    """The first match's ``c`` group per message, null where none; the capture runs only on matching rows."""
    hit = pc.fill_null(pc.match_substring_regex(messages, pattern=pattern), False)
    rows = pc.indices_nonzero(hit)
    out_type = messages.type
    if len(rows) == 0:
        return pa.nulls(len(messages), out_type)
    found = pc.extract_regex(pc.take(messages, rows), pattern=r"(?s)^.*?" + pattern).field("c").cast(out_type)
    positions = pc.cumulative_sum(hit.cast(pa.int64()))
    picked = pc.take(found, pc.max_element_wise(pc.subtract(positions, 1), 0))
    return pc.if_else(hit, picked, pa.scalar(None, out_type))


def _fill_from_phrases(messages: pa.Array, classes: pa.Array, phrases: dict[str, str]) -> pa.Array:
    pattern = "|".join(re.escape(p) for p in phrases)
    any_hit = pc.fill_null(pc.match_substring_regex(messages, pattern=pattern), False)
    if not pc.any(any_hit).as_py():
        return classes
    for phrase, code in phrases.items():
        found = pc.fill_null(pc.match_substring(messages, phrase), False)
        classes = pc.if_else(pc.and_(found, pc.is_null(classes)), pa.scalar(code, classes.type), classes)
    return classes


@dataclass(frozen=True)
class Signature:
    """A stack trace's exception type and its normalised top frames (``frames`` joined give the signature)."""

    exception: str
    frames: tuple[str, ...]

    def text(self) -> str:
        return self.exception + " @ " + " < ".join(self.frames)


_JAVA_FRAME = re.compile(r"^\s+at\s+([\w$.<>/]+)\(")
_PY_FRAME = re.compile(r'^\s*File "([^"]+)", line \d+, in (\S+)')
_NODE_FRAME = re.compile(r"^\s+at\s+(?:async\s+)?(?:new\s+)?"  # "at fn (file:1:2)" or "at file:1:2"
                         r"(?:([^\s(]+)(?:\s+\[as [^\]]*\])?\s+\(|\(?([^\s()]+?)(?::\d+)+\)?$)")
_NODE_ERROR = re.compile(r"^\s*(?:Uncaught\s+)?([A-Z][\w$]*Error|Error)\b")
_GO_FRAME = re.compile(r"^([\w./\-*()$]+\.[\w$*().\-]+?)(?:\(.*\))?$")
_EXCEPTION = re.compile(r"(" + _EXC + r"|panic)\b")
_LAMBDA = re.compile(r"\$\$?(?:Lambda\$)?\d+(?:/0x[0-9a-f]+)?|\$\d+")
_GO_ARGS = re.compile(r"\(0x[0-9a-f, .]*\)|\+0x[0-9a-f]+")


def stack_signature(message: str, top_frames: int = 5) -> Signature | None:
    """The signature of a Java, Python, JavaScript (Node.js) or Go stack trace in ``message``; None when it holds no
    frames."""
    lines = message.split("\n")
    java = [_LAMBDA.sub("", m.group(1)) for m in map(_JAVA_FRAME.match, lines) if m]
    if java:
        return Signature(_exception_of(lines, python=False), tuple(java[:top_frames]))
    python = [f"{m.group(1).rsplit('/', 1)[-1]}:{m.group(2)}" for m in map(_PY_FRAME.match, lines) if m]
    if python:
        return Signature(_exception_of(lines, python=True), tuple(reversed(python[-top_frames:])))
    node = [_node_frame(m) for m in map(_NODE_FRAME.match, lines) if m]
    if node:
        return Signature(_exception_of(lines, python=False) or _node_error(lines), tuple(node[:top_frames]))
    go = _go_frames(lines)
    if go:
        return Signature(_exception_of(lines, python=False), tuple(go[:top_frames]))
    return None


def _node_frame(match: re.Match[str]) -> str:
    """A JavaScript frame's function, or for an anonymous one its file (without the directory and position)."""
    return match.group(1) or match.group(2).rsplit("/", 1)[-1]


def _node_error(lines: list[str]) -> str:
    for line in lines:
        match = _NODE_ERROR.match(line)
        if match:
            return match.group(1)
    return ""


def _go_frames(lines: list[str]) -> list[str]:
    frames: list[str] = []
    for here, after in zip(lines, lines[1:]):
        if after.startswith(("\t", "    ")) and ".go:" in after and not here.startswith((" ", "\t")):
            match = _GO_FRAME.match(_GO_ARGS.sub("", here.strip()))
            if match:
                frames.append(match.group(1))
    return frames


def _exception_of(lines: list[str], *, python: bool) -> str:
    ordered = reversed(lines) if python else iter(lines)
    for line in ordered:
        if python and line.startswith((" ", "\t")):
            continue
        match = _EXCEPTION.search(line)
        if match:
            return match.group(1)
    return ""
