"""Pure helpers of the Prometheus source: chunk plans, fast JSON → numpy parsing, stitching, tidy frames.

Nothing here does I/O.  A range answer is held as a :class:`Matrix` (label sets, per-series point counts, flat
int64 millisecond times and float64 values) until it becomes one tidy frame, so millions of points never exist
as Python objects.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from ..frames import UTC_TS, conform
from ..promql import escape_label_value
from ..timeutil import as_utc

#: Columns of :meth:`PrometheusSource.range_query` and :meth:`PrometheusSource.instant_query`.
SERIES_SCHEMA: dict[str, str] = {"timestamp": UTC_TS, "series": "string", "labels": "string", "value": "float64"}
#: Columns of :meth:`PrometheusSource.signal`.
SIGNAL_SCHEMA: dict[str, str] = {"signal": "string", **SERIES_SCHEMA}
#: Prometheus refuses range queries with more than this many points per series.
MAX_POINTS_PER_SERIES = 11_000

_MATRIX_PREFIX = '{"status":"success","data":{"resultType":"matrix","result":['
_DROP_BRACKETS = {ord("["): None, ord("]"): None, ord('"'): None}
#: ``[t,"v"],[t,"v"]`` → ``t,v\n,t,v\n`` (with a leading comma, every line is ``,t,v``).
_PAIRS_AS_LINES = {ord("["): None, ord("]"): ord("\n"), ord('"'): None}
_POINTS_READ = pa_csv.ReadOptions(column_names=["gap", "t", "v"], block_size=4 << 20)
_POINTS_CONVERT = pa_csv.ConvertOptions(column_types={"gap": pa.null(), "t": pa.float64(), "v": pa.float64()},
                                        null_values=[], strings_can_be_null=False, include_columns=["t", "v"])


@dataclass(frozen=True)
class Matrix:
    """A range result: ``metrics[i]`` has ``counts[i]`` points, stored series after series in ``times_ms``/``values``."""

    metrics: list[dict[str, str]]
    counts: np.ndarray
    times_ms: np.ndarray
    values: np.ndarray

    @property
    def points(self) -> int:
        return int(self.times_ms.size)


def empty_matrix() -> Matrix:
    return Matrix([], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))


def to_ms(ts: object) -> int:
    """Milliseconds since the epoch of an instant; naive values are read as UTC."""
    return int(as_utc(ts).value // 1_000_000)


def plan_chunks(start: object, end: object, step_s: float,
                max_points: int = MAX_POINTS_PER_SERIES) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Split ``[start, end]`` at ``step_s`` into requests of at most ``max_points`` points per series.

    Every chunk starts and ends on the step grid anchored at ``start``; the next chunk starts one step after the
    previous one ends, so stitched chunks evaluate exactly the points one request would.  Naive inputs are UTC.
    """
    step_ms = int(round(step_s * 1000))
    s_ms, e_ms = to_ms(start), to_ms(end)
    if step_ms <= 0:
        raise ValueError(f"step must be positive, got {step_s!r}")
    if e_ms < s_ms:
        raise ValueError(f"end {as_utc(end).isoformat()} is before start {as_utc(start).isoformat()}")
    n_points = (e_ms - s_ms) // step_ms + 1
    chunks = []
    for first in range(0, n_points, max_points):
        last = min(first + max_points, n_points) - 1
        chunks.append((_ms_ts(s_ms + first * step_ms), _ms_ts(s_ms + last * step_ms)))
    return chunks


def _ms_ts(ms: int) -> pd.Timestamp:
    return pd.Timestamp(ms * 1_000_000, tz="UTC")


def series_id(metric: Mapping[str, str]) -> str:
    """The stable id of a label set: ``{__name__="up",job="api"}`` (``__name__`` first, then names sorted)."""
    names = sorted(metric, key=lambda n: (n != "__name__", n))
    return "{" + ",".join(f'{n}="{escape_label_value(metric[n])}"' for n in names) + "}"


def labels_json(metric: Mapping[str, str]) -> str:
    """The label set as compact JSON with the same key order as :func:`series_id`."""
    names = sorted(metric, key=lambda n: (n != "__name__", n))
    return json.dumps({n: metric[n] for n in names}, separators=(",", ":"), ensure_ascii=False)


def parse_matrix_body(body: bytes | str) -> tuple[Matrix, list[str]] | None:
    """Parse a ``/api/v1/query_range`` success body straight into numpy; ``None`` when its layout is unexpected.

    Only label sets go through the JSON decoder; the ``values`` arrays are cut out of the text and read in one
    numpy call.  Callers fall back to :func:`parse_matrix` on the decoded JSON when this returns ``None``.
    Returns the matrix and Prometheus's warnings.
    """
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if not text.startswith(_MATRIX_PREFIX):
        return None
    decoder = json.JSONDecoder()
    pos, metrics, segments, counts = len(_MATRIX_PREFIX), [], [], []
    try:
        while text[pos] != "]":
            if not text.startswith('{"metric":', pos):
                return None
            metric, pos = decoder.raw_decode(text, pos + 10)
            if not text.startswith(',"values":[', pos):
                return None
            end = text.index("]]", pos + 11) + 1 if text[pos + 11] != "]" else pos + 11
            segment = text[pos + 11:end]
            pos = end + 1
            if text[pos] != "}":
                return None
            pos += 2 if text[pos + 1] == "," else 1
            metrics.append(metric)
            segments.append(segment)
            counts.append(segment.count("["))
        warnings = _tail_warnings(text[pos + 1:])
    except (ValueError, IndexError):
        return None
    if warnings is None:
        return None
    counts_arr = np.asarray(counts, dtype=np.int64)
    points = _read_points(",".join(s for s in segments if s), int(counts_arr.sum()))
    if points is None:
        return None
    times, values = points
    return Matrix(metrics, counts_arr, np.rint(times * 1000).astype(np.int64), values), warnings


def _read_points(pairs_text: str, expected: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Times (float seconds) and values of ``[t,"v"],[t,"v"],...``; ``None`` unless exactly ``expected`` pairs.

    The pairs become CSV lines (``,t,v``) read by Arrow's multi-threaded parser, which reads ``NaN`` and
    ``±Inf`` as floats; text Arrow refuses falls back to numpy's slower reader, which still checks the count.
    """
    if expected == 0:
        return (np.zeros(0), np.zeros(0)) if not pairs_text else None
    lines = ("," + pairs_text.translate(_PAIRS_AS_LINES)).encode("utf-8")
    try:
        table = pa_csv.read_csv(pa.py_buffer(lines), read_options=_POINTS_READ, convert_options=_POINTS_CONVERT)
    except pa.ArrowInvalid:
        try:
            flat = np.fromstring(pairs_text.translate(_DROP_BRACKETS), sep=",")
        except ValueError:
            return None
        if flat.size != 2 * expected:
            return None
        return flat[0::2].copy(), flat[1::2].copy()
    if table.num_rows != expected:
        return None
    return table.column("t").to_numpy(), table.column("v").to_numpy().copy()


def _tail_warnings(tail: str) -> list[str] | None:
    """The warnings after the result array (``}}`` or ``},"warnings":[...]}``), or ``None`` if malformed."""
    if tail == "}}":
        return []
    if not tail.startswith("},"):
        return None
    rest = json.loads("{" + tail[2:])
    return [str(w) for w in rest.get("warnings", [])] + [str(i) for i in rest.get("infos", [])]


def parse_matrix_result(result: Sequence[Mapping[str, Any]]) -> Matrix:
    """A :class:`Matrix` from decoded ``data.result`` of resultType ``matrix`` (or ``vector``)."""
    if not result:
        return empty_matrix()
    metrics = [dict(s.get("metric") or {}) for s in result]
    point_lists = [s["values"] if "values" in s else [s["value"]] for s in result]
    counts = np.fromiter((len(p) for p in point_lists), dtype=np.int64, count=len(point_lists))
    flat = [p for points in point_lists for p in points]
    times = np.fromiter((p[0] for p in flat), dtype=np.float64, count=len(flat))
    values = np.fromiter((float(p[1]) for p in flat), dtype=np.float64, count=len(flat))
    return Matrix(metrics, counts, np.rint(times * 1000).astype(np.int64), values)


def parse_matrix(result_json: Any) -> pd.DataFrame:
    """The tidy frame (:data:`SERIES_SCHEMA`) of a range/instant answer: the envelope, its ``data`` or ``result``."""
    return matrix_frame(parse_matrix_result(_result_list(result_json)))


def _result_list(result_json: Any) -> list[Mapping[str, Any]]:
    data = result_json
    if isinstance(data, Mapping) and "data" in data:
        data = data["data"]
    if isinstance(data, Mapping) and "result" in data:
        if data.get("resultType") == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        if data.get("resultType") == "string":
            raise ValueError("a string result has no series; query a metric expression instead")
        data = data["result"]
    if not isinstance(data, list):
        raise ValueError(f"expected a list of series, got {type(data).__name__}")
    return data


def stitch(matrices: Iterable[Matrix]) -> Matrix:
    """Join consecutive chunks of one query: points grouped by label set, time order kept, duplicates dropped."""
    parts = [m for m in matrices if m.metrics]
    if len(parts) <= 1:
        return parts[0] if parts else empty_matrix()
    keys: dict[str, int] = {}
    metrics: list[dict[str, str]] = []
    codes = []
    for m in parts:
        for metric, count in zip(m.metrics, m.counts):
            key = series_id(metric)
            if key not in keys:
                keys[key] = len(metrics)
                metrics.append(metric)
            codes.append(np.full(int(count), keys[key], dtype=np.int64))
    code = np.concatenate(codes)
    times = np.concatenate([m.times_ms for m in parts])
    values = np.concatenate([m.values for m in parts])
    order = np.lexsort((times, code))
    code, times, values = code[order], times[order], values[order]
    keep = np.ones(code.size, dtype=bool)
    keep[1:] = (code[1:] != code[:-1]) | (times[1:] != times[:-1])
    code, times, values = code[keep], times[keep], values[keep]
    counts = np.bincount(code, minlength=len(metrics)).astype(np.int64)
    return Matrix(metrics, counts, times, values)


def matrix_frame(m: Matrix) -> pd.DataFrame:
    """The tidy long frame of a matrix: timestamp (UTC), series (id), labels (JSON), value (float64)."""
    if not m.metrics or m.points == 0:
        return conform(None, SERIES_SCHEMA)
    series = repeated_strings([series_id(x) for x in m.metrics], m.counts)
    labels = repeated_strings([labels_json(x) for x in m.metrics], m.counts)
    stamps = pd.DatetimeIndex((m.times_ms * 1_000_000).view("M8[ns]")).tz_localize("UTC")
    return pd.DataFrame({"timestamp": stamps, "series": series, "labels": labels, "value": m.values})


def repeated_strings(strings: Sequence[str], counts: np.ndarray) -> pd.Series:
    """A ``string`` column holding ``strings[i]`` ``counts[i]`` times, built straight from Arrow buffers."""
    encoded = [s.encode("utf-8") for s in strings]
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    total = int(counts.sum())
    offsets = np.zeros(total + 1, dtype=np.int64)
    np.cumsum(np.repeat(lengths, counts), out=offsets[1:])
    data = b"".join(b * int(c) for b, c in zip(encoded, counts))
    arrow = pa.LargeStringArray.from_buffers(total, pa.py_buffer(offsets), pa.py_buffer(data))
    column = pd.Series(pd.arrays.ArrowStringArray(arrow))
    return column if column.dtype == pd.StringDtype() else column.astype("string")


def pivot_wide(frame: pd.DataFrame, label: str | None = None) -> pd.DataFrame:
    """Timestamp index × one column per series (named by the series id, or by the value of ``label``), for charts."""
    if frame.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="timestamp"))
    names = frame["series"]
    if label is not None:
        names = expand_labels(frame, [label])[label].fillna(frame["series"])
    wide = pd.DataFrame({"timestamp": frame["timestamp"], "name": names.astype(object), "value": frame["value"]})
    out = wide.pivot_table(index="timestamp", columns="name", values="value", aggfunc="last", dropna=False)
    out.columns.name = None
    return out


def expand_labels(frame: pd.DataFrame, names: Sequence[str] | None = None) -> pd.DataFrame:
    """``frame`` plus one string column per label (all labels seen, or ``names``); absent labels are <NA>."""
    uniques = pd.unique(frame["labels"].astype(object)) if len(frame) else []
    parsed = {u: json.loads(u) for u in uniques if isinstance(u, str)}
    wanted = list(names) if names is not None else sorted({k for d in parsed.values() for k in d},
                                                          key=lambda n: (n != "__name__", n))
    out = frame.copy()
    for name in wanted:
        lookup = {u: d.get(name) for u, d in parsed.items()}
        out[name] = frame["labels"].astype(object).map(lookup).astype("string")
    return out
