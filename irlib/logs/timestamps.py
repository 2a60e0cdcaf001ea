"""Timestamps of log lines into one UTC column, in bulk (pyarrow compute, RE2 regexes in C++).

:func:`parse_timestamps` reads a column of timestamp texts as cut from log headers and tries, for the rows still
unread, one pattern after another: ISO 8601 (``T`` or space, ``,``/``.`` fractions of any length, ``Z``, ``+03:00``,
``+0300``, ``UTC`` and common zone abbreviations), syslog (``Nov  3 09:23:38``, with or without the year, with or
without the weekday), Apache/nginx (``10/Oct/2000:13:55:36 -0700``), glog (``0517 15:04:22.619632``), Android
(``03-17 16:13:38.811``), compact (``081109 203615``, ``17/06/09 20:10:40``), BGL (``2005-06-03-15.42.50.675872``)
and epoch seconds / milliseconds / microseconds / nanoseconds (chosen by magnitude).

A time with an offset is exact.  A time without one is read in ``timezone`` (default UTC); a local zone with DST
handles the repeated hour (inferred from the order of the lines) and the skipped hour (shifted forward).  A time
without a year takes the year of ``reference`` (the incident window's end) and, if that puts it more than two days
after the reference, the year before (a log that crosses New Year).  What cannot be read is null, never a guess:
callers count the nulls and say so.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_HMS = r"(?P<H>\d{1,2}):(?P<M>\d{2}):(?P<S>\d{2})(?:[.,:](?P<f>\d{1,9})\d*)?"
_ZONE = r"(?:\s*(?P<z>Z|[+-]\d{2}(?::?\d{2})?|UTC|GMT|UT|[ECMP][SD]T|CES?T|EES?T|WES?T|BST|JST|KST|AES?T|AEDT))?"
_MON = r"(?P<b>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_WDAY = r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s+)?"

PATTERNS: tuple[str, ...] = (
    r"^(?P<Y>\d{4})[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})(?:[T ]|\s+)" + _HMS + _ZONE + "$",
    r"^" + _WDAY + _MON + r"\s+(?P<d>\d{1,2}),?\s+" + _HMS + r"(?:\s+(?P<Y>\d{4}))?" + _ZONE + "$",
    r"^" + _WDAY + r"(?P<d>\d{1,2})[ /-]" + _MON + r"[ /-](?P<Y>\d{4})[: ]" + _HMS + _ZONE + "$",
    r"^(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})-(?P<H>\d{2})\.(?P<M>\d{2})\.(?P<S>\d{2})(?:\.(?P<f>\d{1,9})\d*)?$",
    r"^(?P<y>\d{2})(?P<m>\d{2})(?P<d>\d{2})\s+(?P<H>\d{2}):?(?P<M>\d{2}):?(?P<S>\d{2})$",
    r"^(?P<y>\d{2})/(?P<m>\d{2})/(?P<d>\d{2})\s+" + _HMS + "$",
    r"^(?P<m>\d{2})-?(?P<d>\d{2})\s+" + _HMS + "$",
    r"^(?P<e>\d{9,19})(?:\.(?P<ef>\d{1,9}))?$",
)
_MONTHS = pa.array(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])
_ZONE_MINUTES: dict[str, int] = {
    "Z": 0, "UTC": 0, "GMT": 0, "UT": 0, "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420,
    "MDT": -360, "PST": -480, "PDT": -420, "CET": 60, "CEST": 120, "EET": 120, "EEST": 180, "WET": 0, "WEST": 60,
    "BST": 60, "JST": 540, "KST": 540, "AEST": 600, "AEDT": 660,
}
TS_TYPE = pa.timestamp("ns", tz="UTC")


def parse_timestamps(texts: pa.Array | pa.ChunkedArray, *, reference: pd.Timestamp | None = None,
                     timezone: str = "UTC") -> pa.Array:
    """UTC nanosecond timestamps for ``texts``; null where no pattern reads the text (see the module doc)."""
    arr = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    encoded = pc.dictionary_encode(arr.cast(pa.large_string()))
    if len(encoded.dictionary) < len(arr):  # repeated texts (second resolution): parse each distinct one once
        parsed = _parse_distinct(encoded.dictionary, reference, timezone)
        return pc.take(parsed, encoded.indices)
    return _parse_distinct(arr, reference, timezone)


def _parse_distinct(texts: pa.Array, reference: pd.Timestamp | None, timezone: str) -> pa.Array:
    arr = pc.utf8_trim_whitespace(texts.cast(pa.string()))
    out = pa.nulls(len(arr), TS_TYPE)
    for pattern in PATTERNS:
        todo = pc.and_(pc.is_null(out), pc.match_substring_regex(arr, pattern=pattern))
        todo = pc.fill_null(todo, False)
        if not pc.any(todo).as_py():
            continue
        rows = pc.indices_nonzero(todo)
        parsed = _parse_pattern(pc.take(arr, rows), pattern, reference, timezone)
        out = _scatter(out, rows, parsed)
        if pc.all(pc.is_valid(out)).as_py():
            break
    return out


def _scatter(base: pa.Array, rows: pa.Array, values: pa.Array) -> pa.Array:
    np_base = base.cast(pa.int64()).to_numpy(zero_copy_only=False)
    mask = np.asarray(base.is_null().to_numpy(zero_copy_only=False), dtype=bool).copy()
    idx = rows.to_numpy()
    vals = values.cast(pa.int64())
    np_base = np.where(mask, 0, np_base).astype(np.int64)
    np_base[idx] = vals.fill_null(0).to_numpy()
    mask[idx] = vals.is_null().to_numpy(zero_copy_only=False)
    return pa.array(np_base, pa.int64(), mask=mask).cast(TS_TYPE)


def _field(parts: pa.StructArray, name: str) -> pa.Array | None:
    names = [parts.type.field(i).name for i in range(parts.type.num_fields)]
    return parts.field(name) if name in names else None


def _parse_pattern(texts: pa.Array, pattern: str, reference: pd.Timestamp | None, timezone: str) -> pa.Array:
    parts = pc.extract_regex(texts, pattern=pattern)
    if _field(parts, "e") is not None:
        return _epoch(parts)
    year = _year(parts, reference)
    if year is None:
        return pa.nulls(len(texts), TS_TYPE)
    month = _month(parts)
    base = pc.binary_join_element_wise(year, month, _field(parts, "d"), "-")
    clock = pc.binary_join_element_wise(_field(parts, "H"), _field(parts, "M"), _field(parts, "S"), ":")
    naive = pc.strptime(pc.binary_join_element_wise(base, clock, " "), format="%Y-%m-%d %H:%M:%S", unit="ns",
                        error_is_null=True)
    nanos = pc.add(naive.cast(pa.int64()), _fraction_ns(_field(parts, "f")))
    zone = _field(parts, "z")
    result = _apply_zone(nanos, zone, timezone)
    if _field(parts, "y") is None and reference is not None:
        full = _field(parts, "Y")
        yearless = pa.array([True] * len(texts)) if full is None else pc.equal(full, "")
        result = _roll_back_year(result, reference, yearless)
    return result


def _year(parts: pa.StructArray, reference: pd.Timestamp | None) -> pa.Array | None:
    full, short = _field(parts, "Y"), _field(parts, "y")
    if short is not None:
        return pc.binary_join_element_wise(pa.scalar("20"), short, "")
    hint = None if reference is None else str(reference.year)
    if full is None:
        return None if hint is None else pa.array([hint] * len(parts), pa.string())
    if hint is None:
        return pc.if_else(pc.equal(full, ""), pa.scalar(None, pa.string()), full)
    return pc.if_else(pc.equal(full, ""), pa.scalar(hint), full)


def _month(parts: pa.StructArray) -> pa.Array:
    numeric = _field(parts, "m")
    if numeric is not None:
        return numeric
    index = pc.add(pc.index_in(_field(parts, "b"), value_set=_MONTHS), 1)
    return index.cast(pa.string())


def _fraction_ns(frac: pa.Array | None) -> pa.Array | pa.Scalar:
    if frac is None:
        return pa.scalar(0, pa.int64())
    padded = pc.utf8_rpad(frac, width=9, padding="0")
    return pc.if_else(pc.equal(frac, ""), pa.scalar("0"), padded).cast(pa.int64())


def _apply_zone(nanos: pa.Array, zone: pa.Array | None, timezone: str) -> pa.Array:
    if zone is None:
        return _localize(nanos, timezone)
    offset_min = _offset_minutes(zone)
    explicit = pc.not_equal(zone, "")
    utc = pc.subtract(nanos, pc.multiply(offset_min.cast(pa.int64()), 60_000_000_000))
    local = _localize(nanos, timezone).cast(pa.int64())
    chosen = pc.if_else(explicit, utc, local)
    return chosen.cast(TS_TYPE)


def _offset_minutes(zone: pa.Array) -> pa.Array:
    numeric = pc.extract_regex(zone, pattern=r"^(?P<s>[+-])(?P<h>\d{2}):?(?P<m>\d{2})?$")
    hours = pc.if_else(pc.equal(numeric.field("h"), ""), "0", numeric.field("h")).cast(pa.int32())
    mins = pc.if_else(pc.equal(numeric.field("m"), ""), "0", numeric.field("m")).cast(pa.int32())
    sign = pc.if_else(pc.equal(numeric.field("s"), "-"), -1, 1)
    total = pc.multiply(sign, pc.add(pc.multiply(hours, 60), mins))
    names = pa.array(list(_ZONE_MINUTES), pa.string())
    named = pc.take(pa.array(list(_ZONE_MINUTES.values()), pa.int32()), pc.index_in(zone, value_set=names))
    return pc.if_else(pc.is_valid(numeric), total, named)


def _localize(nanos: pa.Array, timezone: str) -> pa.Array:
    if timezone in ("UTC", "Z", "utc"):
        return nanos.cast(pa.int64()).cast(TS_TYPE)
    naive = pd.Series(pd.to_datetime(nanos.cast(pa.int64()).to_numpy(zero_copy_only=False), unit="ns"))
    try:
        local = naive.dt.tz_localize(timezone, ambiguous="infer", nonexistent="shift_forward")
    except (ValueError, TypeError):
        local = naive.dt.tz_localize(timezone, ambiguous=np.ones(len(naive), dtype=bool),
                                     nonexistent="shift_forward")
    values = local.dt.tz_convert("UTC").astype("int64").to_numpy()
    mask = local.isna().to_numpy() | pc.is_null(nanos).to_numpy(zero_copy_only=False)
    return pa.array(np.where(mask, 0, values), pa.int64(), mask=mask).cast(TS_TYPE)


def _roll_back_year(result: pa.Array, reference: pd.Timestamp, yearless: pa.Array) -> pa.Array:
    limit = (reference + pd.Timedelta(days=2)).value
    values = result.cast(pa.int64())
    late = pc.and_(pc.fill_null(pc.greater(values, limit), False), yearless)
    if not pc.any(late).as_py():
        return result
    series = pd.Series(pd.to_datetime(values.to_numpy(zero_copy_only=False), unit="ns", utc=True))
    shifted = (series - pd.DateOffset(years=1)).astype("int64").to_numpy()
    fixed = np.where(late.to_numpy(zero_copy_only=False), shifted, values.fill_null(0).to_numpy())
    return pa.array(fixed, pa.int64(), mask=result.is_null().to_numpy(zero_copy_only=False)).cast(TS_TYPE)


def _epoch(parts: pa.StructArray) -> pa.Array:
    digits = parts.field("e")
    length = pc.utf8_length(digits)
    scale = pc.case_when(
        pc.make_struct(pc.less_equal(length, 11), pc.less_equal(length, 14), pc.less_equal(length, 17)),
        pa.scalar(1_000_000_000, pa.int64()), pa.scalar(1_000_000, pa.int64()), pa.scalar(1000, pa.int64()),
        pa.scalar(1, pa.int64()))
    whole = pc.multiply(digits.cast(pa.int64()), scale)
    frac_ns = pc.if_else(pc.equal(length, 10), _fraction_ns(parts.field("ef")), pa.scalar(0, pa.int64()))
    return pc.add(whole, frac_ns).cast(TS_TYPE)


def parse_timestamp(text: str, *, reference: pd.Timestamp | None = None, timezone: str = "UTC") -> pd.Timestamp:
    """One text read as :func:`parse_timestamps` reads it; ``NaT`` when unreadable."""
    value = parse_timestamps(pa.array([text], pa.string()), reference=reference, timezone=timezone)[0].as_py()
    return pd.Timestamp(value) if value is not None else pd.NaT
