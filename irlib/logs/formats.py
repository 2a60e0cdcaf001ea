"""Log formats: header regexes for text logs, field names for JSON lines, logfmt, and format detection.

Each text format is one RE2 regex with named groups ``ts``, ``level``, ``logger`` and ``msg`` (any may be absent),
applied in bulk with ``pyarrow.compute.extract_regex``.  A line that does not match its file's header regex is a
continuation of the record above it (stack traces, "Caused by", wrapped messages).

:func:`parse_lines` turns decoded lines into :class:`ParsedLines` (one entry per line: whether it starts a record,
the timestamp text, raw level, logger and message).  JSON lines and logfmt are parsed per line in Python; the
text formats in bulk.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import QueryError
from .parallel import concat, sliced_map
from .arrowtext import drop_leading_bytes

_ZONES = r"(?:UTC|GMT|UT|[ECMP][SD]T|CES?T|EES?T|WES?T|BST|JST|KST|AES?T|AEDT)"
_ISO = r"\d{4}[-/]\d{1,2}[-/]\d{1,2}(?:[T ]|\s+)\d{1,2}:\d{2}:\d{2}(?:[.,:]\d+)?(?:\s*(?:Z|[+-]\d{2}(?::?\d{2})?|" + _ZONES + r"\b))?"
_SYSLOG_TS = r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{1,2}\s+\d{1,2}:\d{2}:\d{2}(?:\.\d+)?(?:\s+\d{4})?"
_COMPACT = r"\d{6}\s+\d{6}|\d{2}/\d{2}/\d{2}\s+\d{2}:\d{2}:\d{2}(?:[.,]\d+)?"
_EPOCH = r"\d{10}(?:\.\d+)?|\d{13}(?:\.\d+)?|\d{16}|\d{19}"
_LEVELS = (r"(?i:trace|debug\d?|info|information|informational|notice|note|warn|warning|error|err|severe|fatal|"
           r"critical|crit|emerg|emergency|alert|panic|verbose|fine|finer|finest)|LOG|STATEMENT|DETAIL|HINT|CONTEXT")
_LOGGER = r"(?:\[[^\]]*\]\s*)?(?:(?P<logger>[\w.$/\-]+(?:\[\d+\])?)\s*:\s+)?"

TEXT_FORMATS: dict[str, str] = {
    "vdsm": r"^(?P<logger>[\w\-]+)::(?P<level>[A-Z]+)::(?P<ts>" + _ISO + r")::(?P<msg>.*)$",
    "glog": r"^(?P<level>[IWEF])(?P<ts>\d{4} \d{2}:\d{2}:\d{2}\.\d+)\s+\d+\s+(?P<logger>[\w.\-]+:\d+)\]\s?(?P<msg>.*)$",
    "android": r"^(?P<ts>\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+) +\d+ +\d+ (?P<level>[VDIWEFA]) (?P<logger>[^:]*): ?(?P<msg>.*)$",
    "bgl": r"^\S+ \d+ \d{4}\.\d{2}\.\d{2} \S+ (?P<ts>\d{4}-\d{2}-\d{2}-\d{2}\.\d{2}\.\d{2}\.\d+) \S+ \S+ (?P<logger>\S+) (?P<level>[A-Z]+) (?P<msg>.*)$",
    "hpc": r"^\d+ \S+ (?P<logger>\S+) \S+ (?P<ts>\d{9,10}) \d+ (?P<msg>.*)$",
    "access": r'^(?P<pre>\S+ \S+ \S+) \[(?P<ts>[^\]]+)\] (?P<msg>"[^"]*" (?P<status>\d{3}) .*)$',
    "syslog": (r"^(?P<ts>" + _SYSLOG_TS + r") +(?P<host>\S+) +(?:(?P<logger>[^:\s\[]+(?:\[\d+\])?): ?)?"
               r"(?P<msg>.*)$"),
    "generic": r"^\[?(?P<ts>" + _ISO + "|" + _SYSLOG_TS + "|" + _COMPACT + r")\]?[\s:|,\-]*(?P<rest>.*)$",
    "epoch": r"^(?P<ts>" + _EPOCH + r")\s+(?P<rest>.*)$",
}
# Applied to the ``rest`` of a generic header: an optional level within the first tokens, then an optional logger.
_LEVEL_PART = r"(?:(?:\S+\s+){0,2}?[\[(<]?(?P<level>" + _LEVELS + r")[\])>]?(?:[\s:|\-]+|$))?"
REST_PATTERN = r"^" + _LEVEL_PART + _LOGGER + r"(?P<msg>.*)$"
_GENERIC_TIMES = (_ISO, _SYSLOG_TS, _COMPACT)  # the alternatives of the generic header's ``ts``, in its order

JSON_FORMATS = ("json", "bunyan", "pino", "zap", "ecs", "otel", "journald", "docker")
FORMATS: tuple[str, ...] = tuple(TEXT_FORMATS) + JSON_FORMATS + ("logfmt", "plain")
ALIASES: dict[str, str] = {
    "klog": "glog", "log4j": "generic", "logback": "generic", "java": "generic", "python": "generic",
    "go": "generic", "postgresql": "generic", "postgres": "generic", "mysql": "generic", "nginx_error": "generic",
    "apache_error": "generic", "nginx": "access", "apache": "access", "logcat": "android", "jsonl": "json",
}


@dataclass(frozen=True)
class ParsedLines:
    """One entry per input line: ``start`` (bool: begins a record), ``ts`` text, raw ``level``, ``logger``, ``msg``."""

    start: pa.Array
    ts: pa.Array
    level: pa.Array
    logger: pa.Array
    msg: pa.Array


def canonical_format(name: str) -> str:
    """The format's canonical name; raises :class:`QueryError` for an unknown one."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in FORMATS:
        raise QueryError("logs", f"format={name}", f"unknown log format; use one of: {', '.join(FORMATS)}, "
                         f"or an alias ({', '.join(sorted(ALIASES))})")
    return key


def detect_format(sample: list[str]) -> str:
    """The format whose header matches most of the first non-blank lines (JSON when most lines are objects)."""
    lines = [s for s in sample if s.strip()][:200]
    if not lines:
        return "plain"
    # stack traces a runtime prints to stderr between JSON records are continuation lines, not another format
    heads = [s for s in lines if not _CONTINUATION.match(s) and not _RULE_LINE.match(s)] or lines
    json_share = sum(1 for s in heads if s.lstrip().startswith("{")) / len(heads)
    if json_share >= 0.5:
        return "docker" if _docker_share(lines) >= 0.5 else "json"
    if sum(1 for s in lines if _LOGFMT_HINT.search(s)) / len(lines) >= 0.5:
        return "logfmt"
    hits = {name: sum(1 for s in lines if re.match(pattern, s)) for name, pattern in TEXT_FORMATS.items()}
    most = max(hits.values())
    if most < max(1, len(lines) // 10):
        return "plain"
    # the first (most specific) format that reads nearly as many lines as the best one
    return next(name for name, n in hits.items() if n >= 0.9 * most)


def _docker_share(lines: list[str]) -> float:
    hits = 0
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("log"), str) and not ({"msg", "message"} & obj.keys()):
            hits += 1
    return hits / len(lines)


_RULE_LINE = re.compile(r"^(?:-{8,}|={8,}|Exception occurred during processing of request)")
_LOGFMT_HINT = re.compile(r'^(?:\w[\w.]*=(?:"[^"]*"|\S*)\s+){2,}')


def _group(parts: pa.StructArray, name: str, size: int) -> pa.Array:
    names = [parts.type.field(i).name for i in range(parts.type.num_fields)]
    if name not in names:
        return pa.nulls(size, pa.large_string())
    return parts.field(name).cast(pa.large_string())


def header_prefix(fmt: str) -> str | None:
    """The format's regex without its trailing message group: the header alone (None for ``access``).

    Capturing a long message costs far more in RE2 than matching the header and stripping it, so
    :func:`parse_text` captures the header fields and gets the message by deleting the header.
    """
    pattern = TEXT_FORMATS[fmt]
    if pattern.endswith("(?P<msg>.*)$"):
        return pattern[: -len("(?P<msg>.*)$")]
    if pattern.endswith("(?P<rest>.*)$"):
        return pattern[: -len("(?P<rest>.*)$")] + "(?:" + REST_PATTERN[1: -len("(?P<msg>.*)$")] + ")"
    return None


def header_stages(fmt: str, sample: list[str] | None = None) -> list[str] | None:
    """The header regexes :func:`parse_text` applies one after the other, each to the text the one before left.

    One regex per format, except the formats with a generic ``rest`` (level and logger), which take two: the time
    and level, then the logger.  Neither stage can fail once the time matched (all after it is optional), so the
    stages read exactly what the one-piece :func:`header_prefix` reads, but RE2's capture pass costs about the size
    of the regex times the text it captures from, and two small regexes over two pieces cost less than one large
    regex over both.  With a ``sample`` of lines, the generic time is narrowed to the alternatives the sample uses
    (the caller re-reads any line the narrowed regex misses with the full one).
    None for ``access`` (parsed whole).
    """
    pattern = TEXT_FORMATS[fmt]
    if not pattern.endswith("(?P<rest>.*)$"):
        prefix = header_prefix(fmt)
        return None if prefix is None else [prefix]
    head = pattern[: -len("(?P<rest>.*)$")]
    if fmt == "generic" and sample is not None:
        head = _generic_head(sample)
    return [head + _LEVEL_PART, "^" + _LOGGER]


def _generic_head(sample: list[str]) -> str:
    used = [alt for alt in _GENERIC_TIMES if any(re.match(r"^\[?(?:" + alt + ")", s, re.ASCII) for s in sample)]
    return r"^\[?(?P<ts>" + "|".join(used or _GENERIC_TIMES) + r")\]?[\s:|,\-]*"


# PostgreSQL writes these after the message they explain, each with a full header of its own: they belong to it
DETAIL_LEVELS = ("DETAIL", "HINT", "CONTEXT", "STATEMENT")


def attach_detail_lines(parsed: ParsedLines) -> ParsedLines:
    """Lines whose level is one of :data:`DETAIL_LEVELS` continue the record above them (as ``DETAIL:  text``),
    so an error's detail, hint and failing statement stay with it."""
    if len(parsed.level) == 0:
        return parsed
    detail = pc.fill_null(pc.is_in(parsed.level, value_set=pa.array(DETAIL_LEVELS, parsed.level.type)), False)
    if not pc.any(detail).as_py():
        return parsed
    labelled = pc.binary_join_element_wise(parsed.level, parsed.msg, pa.scalar(":  ", parsed.msg.type))
    return ParsedLines(start=pc.and_(parsed.start, pc.invert(detail)), ts=parsed.ts, level=parsed.level,
                       logger=parsed.logger, msg=pc.if_else(detail, labelled, parsed.msg))


def record_start_after(data: bytes, at: int, fmt: str, max_lines: int = 1000) -> int | None:
    """Byte offset of the first line after offset ``at`` of UTF-8 ``data`` that starts a record in text format
    ``fmt`` (its header matches), searching at most ``max_lines`` lines; None for other formats or when none does."""
    if fmt not in TEXT_FORMATS:
        return None
    header = re.compile(header_prefix(fmt) or TEXT_FORMATS[fmt], re.ASCII)  # ASCII classes, as in RE2
    pos = data.find(b"\n", at)
    for _ in range(max_lines):
        if pos < 0 or pos + 1 >= len(data):
            return None
        end = data.find(b"\n", pos + 1)
        line = data[pos + 1: end if end >= 0 else len(data)].decode("utf-8", "replace").rstrip("\r")
        match = header.match(line)
        if match and match.groupdict().get("level") not in DETAIL_LEVELS:
            return pos + 1
        pos = end
    return None


def parse_text(lines: pa.Array, fmt: str) -> ParsedLines:
    """Bulk header parsing of text lines in format ``fmt`` (a key of :data:`TEXT_FORMATS` or ``plain``).

    Large inputs are parsed in slices on all cores (each line is parsed on its own, so slicing changes nothing).
    """
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    stages = header_stages(fmt, lines.slice(0, 200).cast(pa.large_string()).to_pylist()) if fmt in TEXT_FORMATS \
        else None
    parts = sliced_map(lambda part: _parse_text(part, fmt, stages), lines)
    if len(parts) == 1:
        parsed = _restore_false_loggers(parts[0])
    else:
        parsed = _restore_false_loggers(ParsedLines(
            start=concat([p.start for p in parts]), ts=concat([p.ts for p in parts]),
            level=concat([p.level for p in parts]), logger=concat([p.logger for p in parts]),
            msg=concat([p.msg for p in parts])))
    return _message_levels(parsed) if fmt == "syslog" else parsed


# Programs logging through syslog write their level as the message's first word: OpenSSH's
# "sshd[123]: error: maximum authentication attempts exceeded", "fatal: ...", postfix's "warning: ..."
MESSAGE_LEVELS = ("error", "fatal", "warning")


def _message_levels(parsed: ParsedLines) -> ParsedLines:
    """A syslog record's level from a lowercase ``error:``, ``fatal:`` or ``warning:`` that begins its message (the
    message is kept whole); prefix tests in bulk, no regex."""
    if len(parsed.msg) == 0:
        return parsed
    msg = parsed.msg.cast(pa.large_string())
    level = parsed.level.cast(pa.large_string())
    for word in MESSAGE_LEVELS:
        hit = pc.fill_null(pc.starts_with(msg, word + ":"), False)
        if pc.any(hit).as_py():
            level = pc.if_else(pc.and_(hit, parsed.start), pa.scalar(word, pa.large_string()), level)
    return ParsedLines(start=parsed.start, ts=parsed.ts, level=level, logger=parsed.logger, msg=parsed.msg)


# "Name: text" after a header reads as a logger, except when the name is an exception type or a header field:
# "ERROR psycopg2.OperationalError: ..." and "Authorization: Basic ..." are messages (the redactor needs the whole)
FALSE_LOGGER_PATTERN = (r"(?i)(?:Error|Exception|Exit|Interrupt|Fault|Failure|Warning)$"
                        r"|^(?:proxy-)?authorization$|^(?:set-)?cookie$|^x-(?:api-key|auth-token|amz-security-token)$"
                        r"|^api-?key$")


def _restore_false_loggers(parsed: ParsedLines) -> ParsedLines:
    """Put an exception type or header-field name taken for a logger back at the front of its message."""
    if len(parsed.logger) == 0 or parsed.logger.null_count == len(parsed.logger):
        return parsed
    loggers = pc.dictionary_encode(parsed.logger)  # a log has few logger names: test each once
    false_name = pc.fill_null(pc.match_substring_regex(loggers.dictionary, pattern=FALSE_LOGGER_PATTERN), False)
    if not pc.any(false_name).as_py():
        return parsed
    false = pc.fill_null(pc.take(false_name, loggers.indices), False)
    logger = parsed.logger.cast(pa.large_string())
    msg = parsed.msg.cast(pa.large_string())
    joined = pc.binary_join_element_wise(logger, msg, pa.scalar(": ", pa.large_string()))
    return ParsedLines(start=parsed.start, ts=parsed.ts, level=parsed.level,
                       logger=pc.if_else(false, pa.scalar("", pa.large_string()), logger),
                       msg=pc.if_else(false, joined, msg))


def _parse_text(lines: pa.Array, fmt: str, stages: list[str] | None = None) -> ParsedLines:
    n = len(lines)
    if fmt == "plain" or n == 0:
        return _plain(lines)
    prefix = header_prefix(fmt)
    if prefix is not None:
        text = lines.cast(pa.large_string())
        staged = _parse_by_stages(text, stages or header_stages(fmt) or [prefix], header_stages(fmt) or [prefix])
        return staged if staged is not None else _parse_by_prefix(text, prefix)
    parts = pc.extract_regex(lines, pattern=TEXT_FORMATS[fmt])
    start = pc.fill_null(pc.is_valid(parts), False)
    ts, level, logger = _group(parts, "ts", n), _group(parts, "level", n), _group(parts, "logger", n)
    msg = _group(parts, "msg", n)
    if fmt in ("generic", "epoch"):
        level, logger, msg = _split_rest(_group(parts, "rest", n))
    if fmt == "access":
        level = _status_level(_group(parts, "status", n))
        msg = pc.binary_join_element_wise(_group(parts, "pre", n), msg, pa.scalar(" ", pa.large_string()))
    msg = pc.if_else(start, msg, lines.cast(pa.large_string()))
    return ParsedLines(start=start, ts=ts, level=level, logger=logger, msg=msg)


def _parse_by_stages(lines: pa.Array, stages: list[str], full: list[str]) -> ParsedLines | None:
    """Header fields and messages read stage by stage (see :func:`header_stages`); None when the lines cannot be
    sliced in place (nulls or more than 2 GiB: :func:`_parse_by_prefix` reads them).  ``full`` holds the stages
    without narrowing: lines the (narrowed) first stage misses are tried with its full form."""
    n = len(lines)
    if lines.null_count:
        return None
    fields: dict[str, pa.Array] = {}
    start = pa.nulls(0, pa.bool_())
    rest = lines
    for number, stage in enumerate(stages):
        parts = _extract_fields(rest, stage, full[0] if number == 0 and stage != full[0] else None)
        matched = pc.fill_null(pc.is_valid(parts["hdr"]), False)
        start = matched if number == 0 else start
        keep = matched if number == 0 else pc.and_(start, matched)
        for name, values in parts.items():
            if name != "hdr":
                fields[name] = pc.if_else(keep, values, pa.scalar("", pa.large_string()))  # as extract_regex
        cut = pc.if_else(keep, pc.binary_length(parts["hdr"]), 0).to_numpy(zero_copy_only=False)
        sliced = drop_leading_bytes(rest, cut)
        if sliced is None:
            return None
        rest = sliced
    empty = pa.nulls(n, pa.large_string())
    return ParsedLines(start=start, ts=fields.get("ts", empty), level=fields.get("level", empty),
                       logger=pc.utf8_trim_whitespace(fields.get("logger", empty)), msg=rest)


def _extract_fields(lines: pa.Array, stage: str, fallback: str | None) -> dict[str, pa.Array]:
    """The named groups of ``stage`` (with the whole match as ``hdr``), null where it does not match; rows it
    misses are tried with ``fallback`` when given."""
    fields = _named_groups(pc.extract_regex(lines, pattern=_with_header_group(stage)))
    if fallback is None:
        return fields
    missed = pc.indices_nonzero(pc.is_null(fields["hdr"]))
    if len(missed) == 0:
        return fields
    again = _named_groups(pc.extract_regex(pc.take(lines, missed), pattern=_with_header_group(fallback)))
    order = np.arange(len(lines))
    order[missed.to_numpy()] = len(lines) + np.arange(len(missed))
    return {name: pc.take(pa.concat_arrays([values, again[name]]), pa.array(order)) for name, values in fields.items()}


def _named_groups(parts: pa.StructArray) -> dict[str, pa.Array]:
    """Each group as a large_string array, null on the rows the regex did not match."""
    valid = pc.is_valid(parts)
    return {parts.type.field(i).name: pc.if_else(valid, parts.field(i).cast(pa.large_string()),
                                                 pa.scalar(None, pa.large_string()))
            for i in range(parts.type.num_fields)}


def _parse_by_prefix(lines: pa.Array, prefix: str) -> ParsedLines:
    n = len(lines)
    parts = pc.extract_regex(lines, pattern=_with_header_group(prefix))
    start = pc.fill_null(pc.is_valid(parts), False)
    header_bytes = pc.if_else(start, pc.binary_length(_group(parts, "hdr", n)), 0)
    msg = drop_leading_bytes(lines, header_bytes.to_numpy(zero_copy_only=False))
    return ParsedLines(start=start, ts=_group(parts, "ts", n), level=_group(parts, "level", n),
                       logger=pc.utf8_trim_whitespace(_group(parts, "logger", n)),
                       msg=strip_prefix(lines, prefix) if msg is None else msg)


def _with_header_group(prefix: str) -> str:
    """``prefix`` (anchored with ``^``) with the whole header captured as ``hdr``: its length is where the message
    starts, so the message is sliced off without a second regex pass."""
    if not prefix.startswith("^"):
        raise ValueError(f"header prefix must be anchored with ^: {prefix[:40]}")
    return "^(?P<hdr>" + prefix[1:] + ")"


def strip_prefix(lines: pa.Array, prefix: str) -> pa.Array:
    """``lines`` without the text ``prefix`` (an anchored regex) matches; unchanged where it does not match.

    Splitting at the first match and keeping each list's last piece is cheaper in Arrow than a regex replace
    (used when :func:`~irlib.logs.arrowtext.drop_leading_bytes` cannot view the lines).
    """
    pieces = pc.split_pattern_regex(lines, pattern=prefix, max_splits=1)
    last = pc.subtract(pieces.offsets.slice(1), 1)
    return pc.take(pieces.values, last)


def _split_rest(rest: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(level, logger, message) from the text after a generic header, in one RE2 pass."""
    parts = pc.extract_regex(rest, pattern=REST_PATTERN)
    n = len(rest)
    msg = _group(parts, "msg", n)
    return _group(parts, "level", n), _group(parts, "logger", n), pc.if_else(pc.is_null(msg), rest, msg)


def _status_level(status: pa.Array) -> pa.Array:
    code = pc.cast(pc.if_else(pc.equal(status, ""), None, status), pa.int32())
    level = pc.case_when(pc.make_struct(pc.greater_equal(code, 500), pc.greater_equal(code, 400)),
                         pa.scalar("ERROR", pa.large_string()), pa.scalar("WARN", pa.large_string()),
                         pa.scalar("INFO", pa.large_string()))
    return pc.if_else(pc.is_null(code), pa.scalar(None, pa.large_string()), level)


_CONTINUATION = re.compile(r"^(?:\s|Caused by:|Traceback \(|\.\.\. \d+ more|[\w.$]+(?:Error|Exception)\b)")


def _plain(lines: pa.Array) -> ParsedLines:
    n = len(lines)
    cont = pc.match_substring_regex(lines, pattern=_CONTINUATION.pattern) if n else pa.array([], pa.bool_())
    start = pc.invert(pc.fill_null(cont, False))
    if n:
        start = pc.or_(start, pa.array([True] + [False] * (n - 1)))
    empty = pa.nulls(n, pa.large_string())
    return ParsedLines(start=start, ts=empty, level=empty, logger=empty, msg=lines.cast(pa.large_string()))


# --- JSON lines and logfmt (per line, in Python) ---------------------------------------------------------------
TS_KEYS = ("@timestamp", "timestamp", "time", "ts", "t", "date", "datetime", "asctime", "timeUnixNano",
           "__REALTIME_TIMESTAMP", "observedTimeUnixNano")
LEVEL_KEYS = ("level", "lvl", "log.level", "severity", "severityText", "levelname", "loglevel", "log_level", "PRIORITY",
              "severityNumber", "l")
MSG_KEYS = ("msg", "message", "MESSAGE", "log", "body", "textPayload", "event", "m")
LOGGER_KEYS = ("logger", "logger_name", "log.logger", "name", "component", "SYSLOG_IDENTIFIER", "caller", "module")
# where JSON loggers put a record's stack trace: logstash-logback-encoder, Python (python-json-logger, structlog),
# ECS, pino / bunyan, zap, Serilog (@x), ...; a nested key is written with a dot
STACK_KEYS = ("stack_trace", "stacktrace", "stack", "exc_info", "exc_text", "exception", "traceback", "@x",
              "error.stack_trace", "error.stack", "err.stack", "error.stacktrace", "exception.stacktrace")
_NESTED_STACK_KEYS = ("stack_trace", "stacktrace", "stack", "traceback")


def _pick(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in obj and obj[key] not in (None, ""):
            return obj[key]
        if "." in key:
            head, _, tail = key.partition(".")
            inner = obj.get(head)
            if isinstance(inner, dict) and inner.get(tail) not in (None, ""):
                return inner[tail]
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        for key in ("stringValue", "intValue", "doubleValue", "boolValue"):
            if key in value:
                return str(value[key])
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def json_records(obj: dict[str, Any]) -> list[tuple[str | None, str | None, str | None, str]]:
    """(ts, level, logger, message) for one JSON object; an OTel export line can hold several records."""
    if isinstance(obj.get("resourceLogs"), list):
        return _otel_records(obj)
    msg = _text(_pick(obj, MSG_KEYS))
    if msg is None:
        msg = json.dumps(obj, ensure_ascii=False, sort_keys=True)
    msg = msg.rstrip("\n")
    stack = _stack_text(_pick(obj, STACK_KEYS))
    if stack and stack not in msg:  # the trace continues the message, as a text log's trace continues its header
        msg = msg + "\n" + stack
    level = _pick(obj, LEVEL_KEYS)
    return [(_text(_pick(obj, TS_KEYS)), _level_text(level, obj), _text(_pick(obj, LOGGER_KEYS)), msg)]


def _stack_text(value: Any) -> str | None:
    """A stack-trace field's value as trace text: a string as it is, a list of lines joined, an object by its own
    stack key (pino's ``err``, an ECS-like ``exception``) or as ``type: message``, structlog's dict tracebacks as a
    Python traceback; None for anything else (``exc_info: true``)."""
    if isinstance(value, str):
        return value.strip("\n") or None
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return "\n".join(value).strip("\n") or None
        if all(isinstance(v, dict) for v in value):
            return "\n".join(filter(None, (_python_trace(v) for v in value))) or None
        return None
    if isinstance(value, dict):
        for key in _NESTED_STACK_KEYS:
            inner = value.get(key)
            if isinstance(inner, (str, list)):
                return _stack_text(inner)
        if isinstance(value.get("frames"), list):
            return _python_trace(value)
        kind = value.get("type") or value.get("class") or value.get("exc_type")
        if isinstance(kind, str) and kind:
            text = value.get("message") or value.get("exc_value")
            return f"{kind}: {text}" if text else kind
    return None


def _python_trace(exc: dict[str, Any]) -> str | None:
    """structlog's ``dict_tracebacks`` entry (exc_type, exc_value, frames of filename/lineno/name) as the traceback
    Python would print."""
    kind = exc.get("exc_type")
    if not isinstance(kind, str):
        return None
    lines = ["Traceback (most recent call last):"]
    for frame in exc.get("frames") or []:
        if isinstance(frame, dict):
            lines.append(f'  File "{frame.get("filename", "?")}", line {frame.get("lineno", 0)}, '
                         f'in {frame.get("name", "?")}')
    value = exc.get("exc_value")
    lines.append(f"{kind}: {value}" if value not in (None, "") else kind)
    return "\n".join(lines)


def _level_text(level: Any, obj: dict[str, Any]) -> str | None:
    if level is None:
        return None
    if "PRIORITY" in obj and level == obj.get("PRIORITY"):
        return "syslog:" + str(level)
    if isinstance(level, (int, float)) and not isinstance(level, bool):
        return ("otel:" if "severityNumber" in obj else "bunyan:") + str(int(level))
    return str(level)


def _otel_records(obj: dict[str, Any]) -> list[tuple[str | None, str | None, str | None, str]]:
    out: list[tuple[str | None, str | None, str | None, str]] = []
    for resource in obj.get("resourceLogs") or []:
        for scope in (resource or {}).get("scopeLogs") or []:
            logger = _text(((scope or {}).get("scope") or {}).get("name"))
            for rec in (scope or {}).get("logRecords") or []:
                ts = rec.get("timeUnixNano") or rec.get("observedTimeUnixNano")
                level = rec.get("severityText") or (f"otel:{rec['severityNumber']}" if "severityNumber" in rec
                                                    else None)
                out.append((_text(ts), _text(level), logger, _text(rec.get("body")) or ""))
    return out


_LOGFMT_PAIR = re.compile(r'(\w[\w.\-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def logfmt_fields(line: str) -> dict[str, str]:
    """The key=value pairs of a logfmt line (quoted values unquoted)."""
    out: dict[str, str] = {}
    for key, value in _LOGFMT_PAIR.findall(line):
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[key] = value
    return out


def logfmt_record(line: str) -> tuple[str | None, str | None, str | None, str] | None:
    """(ts, level, logger, message) of a logfmt line; the message keeps the other fields after ``msg``."""
    fields = logfmt_fields(line)
    if len(fields) < 2:
        return None
    ts = fields.pop("time", None) or fields.pop("ts", None) or fields.pop("t", None)
    level = fields.pop("level", None) or fields.pop("lvl", None)
    logger = fields.pop("logger", None) or fields.pop("component", None)
    msg = fields.pop("msg", None) or fields.pop("message", None) or ""
    extra = " ".join(f"{k}={v}" for k, v in fields.items())
    return ts, level, logger, (msg + (" " + extra if extra else "")).strip()


def parse_structured(lines: pa.Array, fmt: str, fallback: Callable[[pa.Array], ParsedLines]) -> tuple[
        ParsedLines, list[int]]:
    """Per-line parsing of JSON lines / logfmt.  Lines that are neither are parsed by ``fallback`` (a text format).

    Returns the parsed entries and, for each, the index of the input line it came from (an OTel line can yield
    several records).
    """
    rows: list[tuple[bool, str | None, str | None, str | None, str]] = []
    origin: list[int] = []
    other_idx: list[int] = []
    for i, line in enumerate(lines.to_pylist()):
        parsed = _structured_line(line or "", fmt)
        if parsed is None:
            other_idx.append(len(rows))
            rows.append((True, None, None, None, line or ""))
            origin.append(i)
            continue
        for ts, level, logger, msg in parsed:
            rows.append((True, ts, level, logger, msg))
            origin.append(i)
    result = _columns(rows)
    if other_idx:
        result = _patch_fallback(result, other_idx, fallback(pc.take(lines, pa.array([origin[j] for j in other_idx]))))
    return result, origin


def _structured_line(line: str, fmt: str) -> list[tuple[str | None, str | None, str | None, str]] | None:
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except ValueError:
            return None
        return json_records(obj) if isinstance(obj, dict) else None
    if fmt == "logfmt":
        rec = logfmt_record(stripped)
        return None if rec is None else [rec]
    return None


def _columns(rows: list[tuple[bool, str | None, str | None, str | None, str]]) -> ParsedLines:
    cols = list(zip(*rows)) if rows else [(), (), (), (), ()]
    return ParsedLines(start=pa.array(cols[0], pa.bool_()), ts=pa.array(cols[1], pa.large_string()),
                       level=pa.array(cols[2], pa.large_string()), logger=pa.array(cols[3], pa.large_string()),
                       msg=pa.array(cols[4], pa.large_string()))


def _patch_fallback(result: ParsedLines, idx: list[int], other: ParsedLines) -> ParsedLines:
    def patch(base: pa.Array, values: pa.Array) -> pa.Array:
        items = base.to_pylist()
        for j, value in zip(idx, values.to_pylist()):
            items[j] = value
        return pa.array(items, base.type)

    return ParsedLines(start=patch(result.start, other.start), ts=patch(result.ts, other.ts),
                       level=patch(result.level, other.level), logger=patch(result.logger, other.logger),
                       msg=patch(result.msg, other.msg))
