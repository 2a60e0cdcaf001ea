"""Text helpers: escaping of source text before it goes into markdown (so a hostile log line renders as text, never
as markup), durations, times and counts in words."""
from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>])")
_ISO_UTC = re.compile(r"\b(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:\+00:00|Z)")


def md_escape(value: object) -> str:
    """``value`` as text that markdown (and the HTML it becomes) shows literally.

    HTML special characters become entities, markdown emphasis/link/heading/table syntax is backslash-escaped and
    line breaks become spaces (so one value never starts a new block).  ``None`` and NaN become an empty string.
    """
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return " ".join(text.splitlines())


def md_table(rows: list[list[object]], header: list[str]) -> str:
    """A markdown table with every cell escaped (the header is trusted text)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(md_escape(cell) for cell in row) + " |")
    return "\n".join(lines)


def fmt_duration(seconds: float | None) -> str:
    """A duration as ``1 h 05 min`` / ``4 min 30 s`` / ``12 s``; None gives ``unknown``."""
    if seconds is None or seconds != seconds:
        return "unknown"
    sign = "-" if seconds < 0 else ""
    total = int(round(abs(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours} h {minutes:02d} min"
    if minutes:
        return f"{sign}{minutes} min {secs:02d} s" if secs else f"{sign}{minutes} min"
    return f"{sign}{secs} s"


def readable_times(text: str) -> str:
    """``text`` with every ISO 8601 UTC timestamp (``2026-12-03T17:13:16.865000+00:00``) written the way the
    report writes times in sentences: ``2026-12-03 17:13:16 UTC``."""
    return _ISO_UTC.sub(r"\1 \2 UTC", text)


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun agreeing with it: "1 record", "2 records" (``plural`` for irregular nouns)."""
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"
