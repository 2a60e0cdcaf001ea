"""Prometheus evidence: range and instant queries, the RED/USE signal packs, alerts and rules, as tidy frames.

Configured by ``sources.prometheus`` in the incident parameters (url, token_env, username/password_env, ca_bundle,
verify_tls, headers, headers_env, timeout_s, retries, step, queries, labels).  Long windows are split into several requests
(the query text untouched) so that none exceeds Prometheus's 11,000 points per series, and stitched back with no
duplicated or missing points.  Naive times are UTC.  Answers are parsed straight into numpy arrays, never through
prometheus-api-client's DataFrame classes.

Frames (dtypes in brackets):

- ``range_query`` / ``instant_query``: timestamp [datetime64[ns, UTC]], series [string: ``{__name__="x",a="1"}``],
  labels [string: JSON object of the label set], value [float64: NaN and ±Inf kept].  Sorted by series, then time.
- ``signal``: signal [string], then the columns above.
- ``alerts``: alertname, state, severity, labels (JSON) [string], starts_at, ends_at [UTC; NaT while firing],
  source [string: ``ALERTS`` or ``api``], annotations [string: JSON].
- ``rules``: group, name, type (``alerting``/``recording``), query [string], duration_s [float64], labels,
  annotations (JSON), health, state, last_error [string].
"""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from ..errors import QueryError, SourceUnavailable
from ..frames import UTC_TS, conform
from ..incident import Incident
from ..promql import escape_label_value, format_duration, pack_queries, parse_duration
from ..timeutil import as_utc
from .base import Fetched, fetcher
from .prometheus_frames import (
    SERIES_SCHEMA, SIGNAL_SCHEMA, Matrix, expand_labels, labels_json, matrix_frame,
    parse_matrix, parse_matrix_body, parse_matrix_result, pivot_wide, plan_chunks, stitch, to_ms,
)
from .prometheus_http import SOURCE, PrometheusHttp

__all__ = ["PrometheusSource", "SERIES_SCHEMA", "SIGNAL_SCHEMA", "ALERTS_SCHEMA", "RULES_SCHEMA", "parse_matrix",
           "escape_label_value", "pack_queries",
           "pivot_wide", "expand_labels", "plan_chunks", "choose_step", "alert_intervals", "parse_api_alerts",
           "parse_rules"]

ALERTS_SCHEMA: dict[str, str] = {
    "alertname": "string", "state": "string", "severity": "string", "labels": "string",
    "starts_at": UTC_TS, "ends_at": UTC_TS, "source": "string", "annotations": "string"}
RULES_SCHEMA: dict[str, str] = {
    "group": "string", "name": "string", "type": "string", "query": "string", "duration_s": "float64",
    "labels": "string", "annotations": "string", "health": "string", "state": "string", "last_error": "string"}

#: A range fetch stops (``truncated=True``) once it holds more points than this.
MAX_POINTS_PER_FETCH = 20_000_000
_NICE_STEPS_S = (15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)
_TARGET_POINTS = 1500


def choose_step(start: object, end: object, minimum_s: float = 15.0) -> float:
    """The smallest round step (15s, 30s, 1m, ... 1d; never below ``minimum_s``) giving ≤ ~1,500 points."""
    span_s = max((to_ms(end) - to_ms(start)) / 1000.0, 0.0)
    wanted = max(span_s / _TARGET_POINTS, minimum_s)
    for step in _NICE_STEPS_S:
        if step >= wanted:
            return float(step)
    return float(math.ceil(wanted / 86400.0) * 86400)


class PrometheusSource:
    """Reads one Prometheus server for an incident (see the module docstring for the frames)."""

    def __init__(self, incident: Any) -> None:
        config = (incident.sources or {}).get("prometheus")
        if not config:
            raise SourceUnavailable(SOURCE, "no sources.prometheus in the incident parameters; add at least "
                                    "sources.prometheus.url")
        self.incident = incident
        self.config = dict(config)
        self.http = PrometheusHttp(self.config)
        self.default_step = self.config.get("step")

    # -- queries --------------------------------------------------------------------------------------------------
    @fetcher(SERIES_SCHEMA)
    def range_query(self, *, query: str, start: pd.Timestamp, end: pd.Timestamp,
                    step: str | float | None = None) -> Fetched:
        """``query`` evaluated every ``step`` over ``[start, end]`` (naive = UTC), split into ≤ 11,000-point requests.

        ``step``: a duration (``15s``, ``1m``) or seconds; default ``sources.prometheus.step`` or chosen from the
        window (≤ ~1,500 points, at least 15 s).  Columns: timestamp, series, labels, value.
        """
        matrix, described, truncated, notes = self._range(query, start, end, step)
        return Fetched(matrix_frame(matrix), described, truncated, notes)

    @fetcher(SERIES_SCHEMA)
    def instant_query(self, *, query: str, at: pd.Timestamp) -> Fetched:
        """``query`` evaluated at one instant ``at`` (naive = UTC).  Columns: timestamp, series, labels, value."""
        when = as_utc(at)
        described = f"{query} [at {when.isoformat()}]"
        data = self.http.get_data("/api/v1/query", {"query": query, "time": _seconds_text(to_ms(when))},
                                  query=described)
        try:
            frame = parse_matrix(data)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise SourceUnavailable(SOURCE, f"unexpected /api/v1/query answer: {exc}", query=described) from exc
        return Fetched(frame, described)

    @staticmethod
    def call_scope(incident: Incident, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """What decides a fetch besides its arguments: a signal's answer depends on the query its name resolves
        to for this incident, so replay and reuse match on that query too."""
        if method != "signal":
            return {}
        return {"query": pack_queries(incident).get(str(args.get("name")), "")}

    @fetcher(SIGNAL_SCHEMA)
    def signal(self, *, name: str, start: pd.Timestamp, end: pd.Timestamp, step: str | None = None) -> Fetched:
        """One pack signal (see :data:`irlib.promql.PACKS`) for the incident's service over ``[start, end]``.

        Columns: signal, timestamp, series, labels, value.
        """
        queries = pack_queries(self.incident)
        if name not in queries:
            raise QueryError(SOURCE, name, f"unknown signal; known signals are {', '.join(sorted(queries))} "
                             "(add your own under sources.prometheus.queries)")
        matrix, described, truncated, notes = self._range(queries[name], start, end, step)
        frame = matrix_frame(matrix)
        frame.insert(0, "signal", pd.array([name] * len(frame), dtype="string"))
        return Fetched(frame, f"{name}: {described}", truncated, notes)

    # -- alerts and rules -----------------------------------------------------------------------------------------
    @fetcher(ALERTS_SCHEMA)
    def alerts(self, *, start: pd.Timestamp, end: pd.Timestamp) -> Fetched:
        """Alerts firing in ``[start, end]`` (from the ``ALERTS`` series) and the server's current alerts (API).

        Columns: alertname, state, severity, labels, starts_at, ends_at (NaT while still firing at ``end``),
        source (``ALERTS`` or ``api``), annotations.
        """
        query = 'ALERTS{alertstate="firing"}'
        step_s = choose_step(start, end)
        matrix, described, truncated, notes = self._range(query, start, end, step_s)
        last_eval = to_ms(plan_chunks(start, end, step_s)[-1][1])
        history = alert_intervals(matrix, int(step_s * 1000), last_eval)
        data = self.http.get_data("/api/v1/alerts", {}, query="GET /api/v1/alerts")
        current = parse_api_alerts(data)
        frame = pd.concat([history, current], ignore_index=True) if len(current) else history
        return Fetched(_alerts_frame(frame), f"{described}; GET /api/v1/alerts", truncated, notes)

    @fetcher(RULES_SCHEMA)
    def rules(self) -> Fetched:
        """The alerting and recording rules loaded in the server, one row per rule."""
        data = self.http.get_data("/api/v1/rules", {}, query="GET /api/v1/rules")
        return Fetched(parse_rules(data), "GET /api/v1/rules")

    # -- internals ------------------------------------------------------------------------------------------------
    def _step_seconds(self, start: object, end: object, step: str | float | None) -> float:
        chosen = step if step is not None else self.default_step
        try:
            return parse_duration(chosen) if chosen is not None else choose_step(start, end)
        except ValueError as exc:
            raise QueryError(SOURCE, str(chosen), str(exc)) from exc

    def _range(self, query: str, start: object, end: object,
               step: str | float | None) -> tuple[Matrix, str, bool, list[str]]:
        step_s = self._step_seconds(start, end, step)
        try:
            chunks = plan_chunks(start, end, step_s)
        except ValueError as exc:
            raise QueryError(SOURCE, query, str(exc)) from exc
        described = (f"{query} [{chunks[0][0].isoformat()}..{chunks[-1][1].isoformat()} step "
                     f"{format_duration(step_s)}, {len(chunks)} request{'s' if len(chunks) > 1 else ''}]")
        parts: list[Matrix] = []
        notes: list[str] = []
        total = 0
        for chunk_start, chunk_end in chunks:
            params = {"query": query, "start": _seconds_text(to_ms(chunk_start)),
                      "end": _seconds_text(to_ms(chunk_end)), "step": _seconds_text(int(round(step_s * 1000)))}
            body = self.http.get_bytes("/api/v1/query_range", params, query=described)
            matrix, warnings = _read_range_body(body, described)
            parts.append(matrix)
            notes.extend(w for w in warnings if w not in notes)
            total += matrix.points
            if total > MAX_POINTS_PER_FETCH and (chunk_start, chunk_end) != chunks[-1]:
                notes.append(f"stopped after {len(parts)} of {len(chunks)} requests: more than "
                             f"{MAX_POINTS_PER_FETCH:,} points; use a larger step or a narrower window")
                return stitch(parts), described, True, notes
        return stitch(parts), described, False, notes


def _read_range_body(body: bytes, described: str) -> tuple[Matrix, list[str]]:
    fast = parse_matrix_body(body)
    if fast is not None:
        return fast
    try:
        decoded = json.loads(body)
        if decoded.get("status") != "success" or decoded["data"].get("resultType") != "matrix":
            raise ValueError(f"expected a success answer with a matrix, got {body[:200]!r}")
        warnings = [str(w) for w in decoded.get("warnings", [])]
        return parse_matrix_result(decoded["data"]["result"]), warnings
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise SourceUnavailable(SOURCE, f"malformed /api/v1/query_range answer: {exc}", query=described) from exc


def _seconds_text(ms: int) -> str:
    """Milliseconds as the decimal seconds Prometheus reads (``1700000000`` or ``1700000000.25``)."""
    whole, frac = divmod(ms, 1000)
    return str(whole) if frac == 0 else f"{whole}.{frac:03d}".rstrip("0")


def alert_intervals(matrix: Matrix, step_ms: int, last_eval_ms: int) -> pd.DataFrame:
    """Firing intervals from an ``ALERTS{alertstate="firing"}`` range result (a gap over 1.5 steps ends one).

    ``ends_at`` is the last evaluation seen firing, or NaT when that is ``last_eval_ms`` (still firing).
    """
    rows: list[dict[str, Any]] = []
    offset = 0
    for metric, count in zip(matrix.metrics, matrix.counts):
        times = matrix.times_ms[offset:offset + int(count)]
        offset += int(count)
        if times.size == 0:
            continue
        breaks = np.flatnonzero(np.diff(times) > 1.5 * step_ms)
        starts = np.concatenate(([0], breaks + 1))
        ends = np.concatenate((breaks, [times.size - 1]))
        labels = {k: v for k, v in metric.items() if k not in ("__name__", "alertstate")}
        for s, e in zip(starts, ends):
            still = int(times[e]) >= last_eval_ms
            rows.append({"alertname": metric.get("alertname", ""), "state": "firing",
                         "severity": metric.get("severity"), "labels": labels_json(labels),
                         "starts_at": pd.Timestamp(int(times[s]) * 1_000_000, tz="UTC"),
                         "ends_at": None if still else pd.Timestamp(int(times[e]) * 1_000_000, tz="UTC"),
                         "source": "ALERTS", "annotations": "{}"})
    return _alerts_frame(pd.DataFrame(rows))


def parse_api_alerts(data: Any) -> pd.DataFrame:
    """The ``data`` of ``/api/v1/alerts`` as an alerts frame (source ``api``; ``ends_at`` NaT: still active)."""
    rows = []
    for alert in (data or {}).get("alerts", []):
        labels = dict(alert.get("labels") or {})
        rows.append({"alertname": labels.get("alertname", ""), "state": alert.get("state", ""),
                     "severity": labels.get("severity"), "labels": labels_json(labels),
                     "starts_at": _utc_ns(alert.get("activeAt")), "ends_at": None, "source": "api",
                     "annotations": labels_json(alert.get("annotations") or {})})
    return _alerts_frame(pd.DataFrame(rows))


def _alerts_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` conformed to :data:`ALERTS_SCHEMA`, its times in nanoseconds whatever pandas inferred."""
    out = conform(frame, ALERTS_SCHEMA)
    for column in ("starts_at", "ends_at"):
        out[column] = out[column].dt.as_unit("ns")
    return out


def _utc_ns(value: object) -> pd.Timestamp | None:
    """An API time as a nanosecond UTC timestamp (``None`` when absent or unreadable)."""
    try:
        return as_utc(value).as_unit("ns") if value else None
    except (ValueError, TypeError):
        return None


def parse_rules(data: Any) -> pd.DataFrame:
    """The ``data`` of ``/api/v1/rules`` as a rules frame, one row per rule."""
    rows = []
    for group in (data or {}).get("groups", []):
        for rule in group.get("rules", []):
            rows.append({"group": group.get("name", ""), "name": rule.get("name", ""),
                         "type": rule.get("type", ""), "query": rule.get("query", ""),
                         "duration_s": float(rule.get("duration", 0.0) or 0.0),
                         "labels": labels_json(rule.get("labels") or {}),
                         "annotations": labels_json(rule.get("annotations") or {}),
                         "health": rule.get("health", ""), "state": rule.get("state", ""),
                         "last_error": rule.get("lastError", "")})
    return conform(pd.DataFrame(rows), RULES_SCHEMA)
