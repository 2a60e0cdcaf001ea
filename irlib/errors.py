"""One error tree for the whole library.

Every message names what went wrong (the file and key, the source and query, the run directory) and says what
to do about it.  The CLI maps :class:`ParameterError` to exit status 2.
"""
from __future__ import annotations


class IrlibError(Exception):
    """Root of every error irlib raises on purpose."""


class ParameterError(IrlibError):
    """An incident parameters file (or a CLI argument) is wrong; nothing has been written."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        where = ""
        if path:
            where = f"{path}: "
        if key and (key.startswith("-") or key.isupper()):
            where += f"argument {key}: "  # a command-line option (--jobs) or positional (RUN_DIR)
        elif key:
            where += f"key '{key}': "
        super().__init__(where + message)


class SourceUnavailable(IrlibError):
    """A source could not answer (down, refused, forbidden, slow, malformed answer).

    The investigation records the fetch as unavailable with this message as the reason and goes on.
    """

    def __init__(self, source: str, reason: str, *, query: str = "") -> None:
        self.source = source
        self.reason = reason
        self.query = query
        super().__init__(f"{source} unavailable: {reason}" + (f" (query: {query})" if query else ""))


class QueryError(IrlibError):
    """The source answered but rejected the query itself (e.g. a PromQL syntax error): fix the query."""

    def __init__(self, source: str, query: str, message: str) -> None:
        self.source = source
        self.query = query
        self.message = message
        super().__init__(f"{source} rejected the query {query!r}: {message}")


class SchemaError(IrlibError):
    """A frame does not have the documented columns: a bug in a source or a corrupt evidence file."""


class EvidenceError(IrlibError):
    """The evidence store or a run directory is unusable (missing, corrupt, tampered with)."""


class UnsafeOperation(IrlibError):
    """An action was refused because the parameters do not allow it (e.g. a write in a read-only check)."""
