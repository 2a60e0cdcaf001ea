"""Pure analysis of log records: records from raw lines, error classes, stack signatures, templates, onset.

Every function takes a records frame (``irlib.logs.records.RECORDS_SCHEMA``: from ``LogSource.records`` or from
:func:`records_from_lines` on a Kubernetes ``pod_logs`` frame) and returns a frame with fixed columns, also when
empty.  Timestamps are ``datetime64[ns, UTC]``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..frames import UTC_TS, conform, empty_frame
from .arrowtext import may_contain_byte
from .errors import classify_errors, stack_signature
from .readers import Lines, _clean
from .records import RECORDS_SCHEMA, ParseOptions, records_table, to_frame
from .templates import extract_params, mine

ERROR_CLASSES_SCHEMA = {"error_class": "string", "kind": "string", "count": "Int64", "first_seen": UTC_TS,
                        "last_seen": UTC_TS, "example": "string"}
STACK_SCHEMA = {"signature": "string", "exception": "string", "count": "Int64", "first_seen": UTC_TS,
                "last_seen": UTC_TS, "example": "string"}
TEMPLATES_SCHEMA = {"template_id": "string", "level": "string", "template": "string", "count": "Int64",
                    "first_seen": UTC_TS, "last_seen": UTC_TS, "example": "string"}
TEMPLATE_COUNTS_SCHEMA = {"timestamp": UTC_TS, "template_id": "string", "count": "Int64"}
NEW_SINCE_SCHEMA = {"template_id": "string", "template": "string", "level": "string", "before_count": "Int64",
                    "after_count": "Int64", "before_rate_per_min": "float64", "after_rate_per_min": "float64",
                    "rate_ratio": "float64", "is_new": "boolean"}
SEVERE_LEVELS = ("WARN", "ERROR", "FATAL")


def records_from_lines(frame: pd.DataFrame, text_col: str = "line",
                       group_cols: Sequence[str] = ("pod", "container", "previous"), *, fmt: str | None = None,
                       reference: pd.Timestamp | None = None, timezone: str = "UTC") -> pd.DataFrame:
    """Records (``RECORDS_SCHEMA``) from a frame of raw lines, e.g. Kubernetes ``pod_logs``.

    Lines are grouped by ``group_cols`` (each group is one stream: a container's log); in each the format is
    detected (or ``fmt``), embedded headers are parsed and multi-line stack traces joined.  A record whose own
    header has no readable time takes the ``timestamp`` column of its first line (when the frame has one).
    ``source`` is the group's values joined with "/"; ``line_no`` counts lines within the group.
    """
    if frame is None or len(frame) == 0 or text_col not in frame.columns:
        return empty_frame(RECORDS_SCHEMA)
    cols = [c for c in group_cols if c in frame.columns]
    groups = frame.groupby(cols, sort=False, dropna=False) if cols else [((), frame)]
    tables = []
    for key, part in groups:
        key_tuple = key if isinstance(key, tuple) else (key,)
        name = "/".join(str(k) for k in key_tuple) if cols else "lines"
        tables.append(_stream_table(part, text_col, name, ParseOptions(fmt, reference, timezone)))
    return to_frame(pa.concat_tables(tables)) if tables else empty_frame(RECORDS_SCHEMA)


def _stream_table(part: pd.DataFrame, text_col: str, name: str, options: ParseOptions) -> pa.Table:
    text = _clean(pa.array(part[text_col].fillna("").astype(str).tolist(), pa.large_string()))
    errors = part["decode_error"].fillna(False).astype(bool).tolist() if "decode_error" in part else [False] * len(
        part)
    lines = Lines(line_no=pa.array(np.arange(1, len(part) + 1), pa.int64()), text=text,
                  decode_error=pa.array(errors, pa.bool_()))
    fallback = None
    if "timestamp" in part.columns:
        stamps = pd.to_datetime(part["timestamp"], utc=True, errors="coerce")
        fallback = pa.array(stamps, pa.timestamp("ns", tz="UTC"))
    return records_table(lines, name, options, fallback_ts=fallback)


def _utc_ns(values: pd.Series) -> pd.Series:
    """Timestamps as datetime64[ns, UTC] whatever resolution they came in."""
    return pd.to_datetime(values, utc=True, errors="coerce").astype(UTC_TS)


def _first_lines(messages: pa.Array) -> pa.Array:
    if may_contain_byte(messages, 10) and pc.any(pc.match_substring(messages, "\n")).as_py():
        return pc.replace_substring_regex(messages, pattern=r"(?s)\n.*", replacement="", max_replacements=1)
    return messages


def error_classes(records: pd.DataFrame) -> pd.DataFrame:
    """Error classes found in the records, most frequent first.

    Columns: ``error_class`` (string: exception type like ``java.lang.OutOfMemoryError`` or ``KeyError``, ``HTTP
    503``, errno like ``ECONNREFUSED``, SQLSTATE like ``40P01``), ``kind`` (string: exception, http, errno,
    sqlstate), ``count`` (Int64: records carrying it), ``first_seen`` / ``last_seen`` (UTC), ``example`` (string:
    the first record's message).  A record counts under one class only: its exception type when it has one, else
    its SQLSTATE, errno or HTTP status (``irlib.logs.errors.PREFERENCE``), so the counts add up to failing records.
    """
    if records is None or len(records) == 0:
        return empty_frame(ERROR_CLASSES_SCHEMA)
    messages = pa.array(records["message"].fillna("").astype(str).tolist(), pa.large_string())
    parts = []
    for kind, rows, classes in classify_errors(messages):
        idx = rows.to_numpy()
        if len(idx):
            parts.append(pd.DataFrame({"row": idx, "error_class": classes.to_pylist(), "kind": kind}))
    if not parts:
        return empty_frame(ERROR_CLASSES_SCHEMA)
    hits = pd.concat(parts, ignore_index=True)
    return conform(_summarise(hits, records, ["error_class", "kind"]), ERROR_CLASSES_SCHEMA)


def _summarise(hits: pd.DataFrame, records: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Count, first/last seen and an example per key; ``hits`` has a ``row`` column indexing ``records``."""
    rows = hits["row"].to_numpy()
    stamps = _utc_ns(records["timestamp"]).to_numpy()
    hits = hits.assign(ts=stamps[rows], example=records["message"].to_numpy()[rows])
    out = hits.groupby(keys, sort=False, dropna=False).agg(
        count=("row", "size"), first_seen=("ts", "min"), last_seen=("ts", "max"), example=("example", "first"))
    for column in ("first_seen", "last_seen"):  # all NaT (a log without readable times) loses the zone in min/max
        out[column] = pd.to_datetime(out[column], utc=True)
    out = out.reset_index().sort_values(["count"] + keys, ascending=[False] + [True] * len(keys), kind="stable")
    return out.reset_index(drop=True)


def stack_signatures(records: pd.DataFrame, top_frames: int = 5) -> pd.DataFrame:
    """Stack traces grouped by signature (exception + normalised top frames), most frequent first.

    Columns: ``signature`` (string), ``exception`` (string), ``count`` (Int64), ``first_seen`` / ``last_seen``
    (UTC), ``example`` (string: one full record).
    """
    if records is None or len(records) == 0:
        return empty_frame(STACK_SCHEMA)
    messages = records["message"].fillna("").astype(str)
    candidates = np.flatnonzero(messages.str.contains("\n", regex=False).to_numpy())
    found = []
    for row in candidates:
        sig = stack_signature(messages.iloc[row], top_frames)
        if sig is not None:
            found.append({"row": row, "signature": sig.text(), "exception": sig.exception})
    if not found:
        return empty_frame(STACK_SCHEMA)
    return conform(_summarise(pd.DataFrame(found), records, ["signature", "exception"]), STACK_SCHEMA)


def assign_templates(records: pd.DataFrame) -> pd.DataFrame:
    """The records with ``template_id`` (string), ``template`` (string) and ``params`` (object: list of strings,
    the variable parts of the message's first line) added.  Lines of different levels never share a template."""
    out = conform(records, RECORDS_SCHEMA, extra=True)
    ids, texts, _ = _mined(out)
    out["template_id"] = pd.array(ids, dtype="string")
    out["template"] = pd.array(texts, dtype="string")
    firsts = out["message"].fillna("").astype(str).str.split("\n", n=1).str[0]
    out["params"] = [extract_params(t, m) for t, m in zip(texts, firsts)]
    return out


def _mined(records: pd.DataFrame) -> tuple[list[str], list[str], np.ndarray]:
    messages = _first_lines(pa.array(records["message"].fillna("").astype(str).tolist(), pa.large_string()))
    levels = pa.array(records["level"].fillna("").astype(str).tolist(), pa.large_string())
    mined = mine(messages, levels)
    index = mined.row_template.to_numpy(zero_copy_only=False)
    ids = np.asarray(mined.ids, dtype=object)[index].tolist() if len(index) else []
    texts = np.asarray(mined.templates, dtype=object)[index].tolist() if len(index) else []
    return ids, texts, index


def templates(records: pd.DataFrame) -> pd.DataFrame:
    """Templates of the records, most frequent first.

    Columns: ``template_id`` (string, stable across runs), ``level`` (string), ``template`` (string, variables as
    ``<*>``), ``count`` (Int64), ``first_seen`` / ``last_seen`` (UTC), ``example`` (string: a full record).
    """
    if records is None or len(records) == 0:
        return empty_frame(TEMPLATES_SCHEMA)
    ids, texts, _ = _mined(records)
    hits = pd.DataFrame({"row": np.arange(len(records)), "template_id": ids, "template": texts,
                         "level": records["level"].fillna("").astype(str).to_numpy()})
    return conform(_summarise(hits, records, ["template_id", "level", "template"]), TEMPLATES_SCHEMA)


def template_counts(records: pd.DataFrame, bucket: str = "1min") -> pd.DataFrame:
    """Records per template per time bucket (long frame): ``timestamp`` (UTC bucket start), ``template_id``
    (string), ``count`` (Int64).  Records without a time are left out."""
    if records is None or len(records) == 0:
        return empty_frame(TEMPLATE_COUNTS_SCHEMA)
    ids, _, _ = _mined(records)
    frame = pd.DataFrame({"timestamp": _utc_ns(records["timestamp"]), "template_id": ids})
    frame = frame.dropna(subset=["timestamp"])
    frame["timestamp"] = frame["timestamp"].dt.floor(bucket)
    out = frame.groupby(["timestamp", "template_id"], sort=True).size().rename("count").reset_index()
    return conform(out, TEMPLATE_COUNTS_SCHEMA)


NEW_SINCE_TOLERANCE = pd.Timedelta(minutes=1)


def new_since(records: pd.DataFrame, onset: pd.Timestamp, baseline: pd.Timestamp | None = None,
              tolerance: pd.Timedelta | str | None = NEW_SINCE_TOLERANCE) -> pd.DataFrame:
    """Templates that are new or whose rate rose after ``onset``, ranked (new first, then by rate ratio).

    The before window is [``baseline`` or the first record, onset), the after window [onset, last record].
    The onset is an estimate (from metrics sampled every 5-15 s, and a change shows in them after it shows in the
    logs), so a template first seen less than ``tolerance`` (default one minute; None or 0 for none) before the
    onset still counts as new: ``is_new`` means no record before ``onset - tolerance``.  Its records in the
    tolerance window stay in ``before_count``; its ``rate_ratio`` is inf as for any new template.
    Columns: ``template_id``, ``template``, ``level`` (string), ``before_count``, ``after_count`` (Int64),
    ``before_rate_per_min``, ``after_rate_per_min``, ``rate_ratio`` (float64; inf for new templates),
    ``is_new`` (boolean).
    """
    if records is None or len(records) == 0:
        return empty_frame(NEW_SINCE_SCHEMA)
    onset = pd.Timestamp(onset).tz_convert("UTC")
    slack = pd.Timedelta(tolerance) if tolerance is not None else pd.Timedelta(0)
    if slack < pd.Timedelta(0):
        raise ValueError(f"tolerance must not be negative, got {tolerance}")
    ids, texts, _ = _mined(records)
    frame = pd.DataFrame({"ts": _utc_ns(records["timestamp"]), "template_id": ids,
                          "template": texts, "level": records["level"].fillna("").astype(str).to_numpy()})
    frame = frame.dropna(subset=["ts"])
    start = pd.Timestamp(baseline).tz_convert("UTC") if baseline is not None else frame["ts"].min()
    end = frame["ts"].max()
    frame = frame[frame["ts"] >= start]
    before_min = max((onset - start).total_seconds() / 60.0, 1.0)
    after_min = max((end - onset).total_seconds() / 60.0, 1.0)
    frame = frame.assign(after=frame["ts"] >= onset)
    counts = frame.groupby(["template_id", "template", "level"], sort=False).agg(
        after_count=("after", "sum"), total=("after", "size"), first_ts=("ts", "min")).reset_index()
    counts["before_count"] = counts["total"] - counts["after_count"]
    counts["before_rate_per_min"] = counts["before_count"] / before_min
    counts["after_rate_per_min"] = counts["after_count"] / after_min
    counts["is_new"] = counts["first_ts"] >= onset - slack
    with np.errstate(divide="ignore", invalid="ignore"):
        counts["rate_ratio"] = np.where(counts["is_new"] | (counts["before_count"] == 0), np.inf,
                                        counts["after_rate_per_min"] / counts["before_rate_per_min"])
    rising = counts[(counts["after_count"] > 0) & (counts["is_new"] | (counts["rate_ratio"] > 1.0))]
    rising = rising.sort_values(["is_new", "rate_ratio", "after_count"], ascending=[False, False, False],
                                kind="stable")
    return conform(rising.reset_index(drop=True), NEW_SINCE_SCHEMA)


def top_errors(records: pd.DataFrame, limit: int = 20) -> pd.DataFrame:
    """The most frequent WARN/ERROR/FATAL templates (``TEMPLATES_SCHEMA`` columns), at most ``limit`` rows."""
    if records is None or len(records) == 0:
        return empty_frame(TEMPLATES_SCHEMA)
    found = templates(records)
    severe = found[found["level"].isin(SEVERE_LEVELS)]
    return conform(severe.head(limit).reset_index(drop=True), TEMPLATES_SCHEMA)
