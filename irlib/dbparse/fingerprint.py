"""Statement fingerprints the way Percona's pt-query-digest makes them (QueryRewriter::fingerprint).

Literals become ``?``, ``IN (...)``/``VALUES (...)`` lists collapse to ``(?+)``, whitespace collapses and the text is
lower-cased, so executions of one statement shape share a fingerprint; :func:`checksum` is pt-query-digest's query
ID (the MD5 of the fingerprint, upper-case hex), so reports can be matched against its output.
"""
from __future__ import annotations

import hashlib
import re

_MYSQLDUMP = re.compile(r"\ASELECT /\*!40001 SQL_NO_CACHE \*/ \* FROM `")
_PERCONA = re.compile(r"/\*\w+\.\w+:[0-9]/[0-9]\*/")
_CALL = re.compile(r"\A\s*(call\s+\S+)\(", re.IGNORECASE)
_MULTI_INSERT = re.compile(r"\A((?:INSERT|REPLACE)(?: IGNORE)?\s+INTO.+?VALUES\s*\(.*?\))\s*,\s*\(",
                           re.IGNORECASE | re.DOTALL)
_MULTI_LINE_COMMENT = re.compile(r"/\*[^!].*?\*/", re.DOTALL)
_ONE_LINE_COMMENT = re.compile(r"(?:--|#)[^'\"\r\n]*(?=[\r\n]|\Z)")
_USE = re.compile(r"\Ause \S+\Z", re.IGNORECASE)
_NUMBER = re.compile(r"[0-9+-][0-9a-f.xb+-]*")
_NUMBER_PREFIX = re.compile(r"[xb.+-]\?")
_IN_LIST = re.compile(r"\b(in|values?)(?:[\s,]*\([\s?,]*\))+")
_UNION = re.compile(r"\b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+")
_LIMIT = re.compile(r"\blimit \?(?:, ?\?| offset \?)?")
_ORDER_BY = re.compile(r"\border by ", re.IGNORECASE)
_ASC = re.compile(r"\s+asc\b", re.IGNORECASE)


def fingerprint(query: str) -> str:
    """The pt-query-digest fingerprint of ``query``."""
    if _MYSQLDUMP.match(query):
        return "mysqldump"
    if _PERCONA.search(query):
        return "percona-toolkit"
    if query.startswith("administrator command: "):
        return query
    call = _CALL.match(query)
    if call:
        return call.group(1).lower()
    multi = _MULTI_INSERT.match(query)
    if multi:
        query = multi.group(1)
    query = _ONE_LINE_COMMENT.sub("", _MULTI_LINE_COMMENT.sub("", query))
    if _USE.match(query.strip()):
        return "use ?"
    query = re.sub(r"\\[\"']", "", query)
    query = re.sub(r'".*?"', "?", query, flags=re.DOTALL)
    query = re.sub(r"'.*?'", "?", query, flags=re.DOTALL)
    query = re.sub(r"\bfalse\b|\btrue\b", "?", query, flags=re.IGNORECASE)
    query = _NUMBER_PREFIX.sub("?", _NUMBER.sub("?", query))
    query = re.sub(r"[ \n\t\r\f]+", " ", query.strip()).lower()
    query = re.sub(r"\bnull\b", "?", query)
    query = _IN_LIST.sub(lambda m: f"{m.group(1)}(?+)", query)
    query = _UNION.sub(lambda m: f"{m.group(1)} /*repeat{m.group(2)}*/", query)
    query = _LIMIT.sub("limit ?", query, count=1)
    order = _ORDER_BY.search(query)
    if order:
        query = query[:order.end()] + _ASC.sub("", query[order.end():])
    return query


def checksum(fingerprint_text: str) -> str:
    """pt-query-digest's query ID for a fingerprint: MD5, upper-case hex (reports print it as ``0x...``)."""
    return hashlib.md5(fingerprint_text.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
