"""Outputs of the ``mysql`` command-line client as engineers paste them: ``\\G`` (vertical) and table form.

:func:`parse_vertical` reads ``*************************** 1. row ***`` blocks; :func:`parse_table` reads the
``+----+`` boxed table.  Values are text; ``NULL`` becomes ``None``.  Multi-line values in ``\\G`` output (a query
spanning lines) are joined to the field before them.
"""
from __future__ import annotations

import re

_ROW = re.compile(r"^\s*\*{5,} *\d+\. row *\*{5,}\s*$")
_FIELD = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_ ]*?):(?: (.*))?$")
_BORDER = re.compile(r"^\+[-+]+\+\s*$")


def _value(text: str | None) -> str | None:
    if text is None:
        return ""
    text = text.rstrip()
    return None if text == "NULL" else text


def parse_vertical(text: str) -> list[dict[str, str | None]]:
    """Rows of ``\\G`` output as mappings of field name to text (``None`` for NULL)."""
    rows: list[dict[str, str | None]] = []
    current: dict[str, str | None] | None = None
    last = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if _ROW.match(line):
            current = {}
            rows.append(current)
            continue
        if current is None:
            continue
        found = _FIELD.match(line)
        if found and (not current or len(line) - len(line.lstrip()) > 0 or found.group(1) not in current):
            last = found.group(1).strip()
            current[last] = _value(found.group(2))
        elif last and line.strip() and not line.startswith(("mysql>", "MariaDB [")):
            current[last] = f"{current[last] or ''}\n{line.rstrip()}"
    return rows


def parse_table(text: str) -> list[dict[str, str | None]]:
    """Rows of a ``+---+`` boxed table as mappings of column name to text (``None`` for NULL)."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    body = [line for line in lines if line.startswith("|")]
    if not body:
        return []
    header = _cells(body[0])
    rows = []
    for line in body[1:]:
        cells = _cells(line)
        if len(cells) == len(header):
            rows.append({name: (None if cell == "NULL" else cell) for name, cell in zip(header, cells)})
    return rows


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_tabbed(text: str) -> list[dict[str, str | None]]:
    """Rows of batch-mode (``mysql -B``) output: a tab-separated header line, then tab-separated rows."""
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if "\t" in line]
    if not lines:
        return []
    header = lines[0].split("\t")
    return [{name: (None if cell == "NULL" else cell) for name, cell in zip(header, line.split("\t"))}
            for line in lines[1:] if len(line.split("\t")) == len(header)]


def parse_mysql_output(text: str) -> list[dict[str, str | None]]:
    """``\\G``, boxed-table or tab-separated output, whichever ``text`` holds."""
    lines = text.splitlines()
    if any(_ROW.match(line) for line in lines):
        return parse_vertical(text)
    if any(line.startswith("|") for line in lines):
        return parse_table(text)
    return parse_tabbed(text)
