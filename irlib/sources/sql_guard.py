"""The static half of the SQL source's read-only rule (the database's read-only session is the other half).

A consistency check must be one SELECT (or WITH/VALUES/TABLE/SHOW) statement that writes nothing, takes no row
locks and calls none of the functions that act outside a transaction (cancelling backends, advisory locks,
changing settings, reading server files).  :func:`read_only_statement` says why a statement is refused, or returns
an empty string.  The database would refuse most writes anyway; this catches what read-only mode does not
(``pg_terminate_backend``, ``GET_LOCK``, ``SELECT ... FOR UPDATE`` on MySQL, a second statement after ``;``).
"""
from __future__ import annotations

import re

from ..errors import QueryError, UnsafeOperation

READ_STARTS = ("select", "with", "values", "table", "show")
#: Words that, inside a statement starting with a read keyword, make it write or lock: data-modifying CTEs,
#: SELECT INTO (creates a table / writes a file), FOR UPDATE/SHARE, LOCK IN SHARE MODE.
WRITE_WORDS = ("insert", "update", "delete", "merge", "into", "share", "lock", "nowait", "outfile", "dumpfile")
UNSAFE_FUNCTIONS = re.compile(
    r"\b(pg_terminate_backend|pg_cancel_backend|pg_reload_conf|set_config|pg_advisory\w*|pg_try_advisory\w*|"
    r"pg_read_file|pg_read_binary_file|pg_ls_\w+|pg_stat_file|lo_\w+|dblink\w*|pg_promote|pg_switch_wal|"
    r"pg_rotate_logfile|pg_create_\w+|pg_drop_replication_slot|pg_replication_origin_\w+|pg_stat_reset\w*|"
    r"pg_stat_statements_reset|pg_wal_replay_pause|pg_wal_replay_resume|pg_log_backend_memory_contexts|"
    r"pg_notify|txid_current|pg_current_xact_id|nextval|setval|"
    r"get_lock|release_lock|release_all_locks|is_free_lock|load_file|sys_exec|sys_eval)\s*\(", re.IGNORECASE)
_LITERALS = re.compile(r"""(\$[A-Za-z0-9_]*\$)[\s\S]*?\1|'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`""")
_COMMENTS = re.compile(r"--[^\n]*|/\*[\s\S]*?\*/")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


class ReadOnlyViolation(UnsafeOperation, QueryError):
    """A statement tried to write (or to leave read-only mode); the investigation records it as *rejected*."""

    def __init__(self, query: str, message: str) -> None:
        QueryError.__init__(self, "sql", query, message)


def strip_sql(sql: str) -> str:
    """``sql`` with comments removed and string literals / quoted identifiers replaced by a blank token."""
    out = []
    pos = 0
    pattern = re.compile(_COMMENTS.pattern + "|" + _LITERALS.pattern)
    for match in pattern.finditer(sql):
        out.append(sql[pos:match.start()])
        out.append(" ? ")
        pos = match.end()
    out.append(sql[pos:])
    return "".join(out)


def read_only_statement(sql: str) -> str:
    """Why ``sql`` may not run as a read-only check, or ``""`` when it may."""
    bare = strip_sql(sql).strip().rstrip(";").strip()
    if not bare:
        return "the statement is empty"
    if ";" in bare:
        return "only one statement is allowed (found ';' between statements)"
    words = [w.lower() for w in _WORD.findall(bare)]
    if not words or words[0] not in READ_STARTS:
        return f"a check must start with {' / '.join(w.upper() for w in READ_STARTS)}, not {bare.split()[0]!r}"
    writes = sorted({w for w in words if w in WRITE_WORDS})
    if writes:
        return f"it contains {', '.join(w.upper() for w in writes)}, which may write or lock"
    unsafe = UNSAFE_FUNCTIONS.search(bare)
    if unsafe:
        return f"it calls {unsafe.group(1)}(), which acts outside a read-only transaction"
    return ""


def first_keyword_is_read(sql: str) -> bool:
    """Whether the first keyword of ``sql`` (comments skipped) starts a read statement."""
    words = _WORD.findall(strip_sql(sql))
    return bool(words) and words[0].lower() in READ_STARTS
