"""Parsing, stitching and chunk planning of Prometheus range answers, on a real eight-chunk `up` result."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from irlib.frames import check
from irlib.sources.prometheus_frames import (
    MAX_POINTS_PER_SERIES, SERIES_SCHEMA, Matrix, expand_labels, matrix_frame, parse_matrix, parse_matrix_body,
    parse_matrix_result, pivot_wide, plan_chunks, series_id, stitch,
)

CHUNKS = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "prometheus" / "query_range_up").glob("up_*.json"))


def _envelope(result: list, **extra: object) -> bytes:
    """The body Prometheus writes (compact JSON, this key order) around a result list."""
    body = {"status": "success", "data": {"resultType": "matrix", "result": result}, **extra}
    return json.dumps(body, separators=(",", ":")).encode()


@pytest.fixture(scope="module")
def chunks() -> list[list[dict]]:
    assert len(CHUNKS) == 8
    return [json.loads(p.read_text()) for p in CHUNKS]


def test_fast_parser_equals_generic_parser_on_real_chunks(chunks: list[list[dict]]) -> None:
    for result in chunks:
        fast = parse_matrix_body(_envelope(result))
        assert fast is not None
        matrix, warnings = fast
        generic = parse_matrix_result(result)
        assert warnings == []
        assert [series_id(m) for m in matrix.metrics] == [series_id(m) for m in generic.metrics]
        np.testing.assert_array_equal(matrix.counts, generic.counts)
        np.testing.assert_array_equal(matrix.times_ms, generic.times_ms)
        np.testing.assert_array_equal(matrix.values, generic.values)


def test_real_chunks_stitch_without_duplicates_or_gaps(chunks: list[list[dict]]) -> None:
    stitched = stitch(parse_matrix_body(_envelope(r))[0] for r in chunks)  # type: ignore[index]
    frame = matrix_frame(stitched)
    check(frame, SERIES_SCHEMA)
    # Independent expectation: every series' values lists concatenated in chunk order.
    expected: dict[str, list[list]] = {}
    for result in chunks:
        for s in result:
            expected.setdefault(series_id(s["metric"]), []).extend(s["values"])
    assert len(frame) == sum(len(v) for v in expected.values())
    assert not frame.duplicated(["series", "timestamp"]).any()
    for sid, points in expected.items():
        got = frame[frame["series"] == sid]
        assert got["timestamp"].is_monotonic_increasing
        want = pd.to_datetime([round(p[0] * 1000) for p in points], unit="ms", utc=True)
        assert list(got["timestamp"]) == list(want)
        np.testing.assert_array_equal(got["value"].to_numpy(), [float(p[1]) for p in points])
    # The real data has target-down stretches: some series report 0.
    assert (frame["value"] == 0).any()
    first = min(p[0] for points in expected.values() for p in points)
    assert frame["timestamp"].min() == pd.Timestamp(round(first * 1000), unit="ms", tz="UTC")


def test_overlapping_boundary_point_is_kept_once(chunks: list[list[dict]]) -> None:
    first, second = chunks[0], json.loads(json.dumps(chunks[1]))
    for a, b in zip(first, second):
        b["values"].insert(0, a["values"][-1])  # the seam point repeated by the next request
    stitched = stitch([parse_matrix_result(first), parse_matrix_result(second)])
    frame = matrix_frame(stitched)
    assert not frame.duplicated(["series", "timestamp"]).any()
    assert len(frame) == sum(len(s["values"]) for s in first) + sum(len(s["values"]) for s in chunks[1])


def test_special_values_survive_as_floats() -> None:
    result = [{"metric": {"__name__": "g", "job": 'a"b\\c'},
               "values": [[1700000000, "NaN"], [1700000015.5, "+Inf"], [1700000030, "-Inf"], [1700000045, "1e-3"]]}]
    for matrix in (parse_matrix_body(_envelope(result))[0], parse_matrix_result(result)):  # type: ignore[index]
        frame = matrix_frame(matrix)
        values = frame["value"].to_numpy()
        assert np.isnan(values[0]) and values[1] == np.inf and values[2] == -np.inf and values[3] == 0.001
        assert frame["timestamp"][1] == pd.Timestamp("2023-11-14 22:13:35.5Z")
        assert frame["series"][0] == '{__name__="g",job="a\\"b\\\\c"}'
        assert json.loads(frame["labels"][0]) == {"__name__": "g", "job": 'a"b\\c'}


def test_fast_body_reader_agrees_with_the_json_decoder_and_refuses_odd_pairs() -> None:
    rng = np.random.default_rng(3)
    result = [{"metric": {"__name__": "m", "i": str(i), "u": "ü"},
               "values": [[1700000000 + 15 * k, repr(float(v))] for k, v in enumerate(rng.normal(0, 1e6, 50 + i))]}
              for i in range(30)]
    result.append({"metric": {"i": "empty"}, "values": []})
    fast = parse_matrix_body(_envelope(result))[0]  # type: ignore[index]
    slow = parse_matrix_result(result)
    np.testing.assert_array_equal(fast.counts, slow.counts)
    np.testing.assert_array_equal(fast.times_ms, slow.times_ms)
    np.testing.assert_array_equal(fast.values, slow.values)
    for odd in ([[1700000000, "1", "2"]], [[1700000000]], [[1700000000, "x"]]):
        assert parse_matrix_body(_envelope([{"metric": {}, "values": odd}])) is None


def test_empty_result_is_an_empty_frame_with_the_columns() -> None:
    for frame in (matrix_frame(parse_matrix_body(_envelope([]))[0]), parse_matrix({"data": {"result": []}})):  # type: ignore[index]
        assert frame.empty
        check(frame, SERIES_SCHEMA)


def test_warnings_are_returned_and_unknown_layouts_fall_back() -> None:
    result = [{"metric": {}, "values": [[1, "1"]]}]
    matrix, warnings = parse_matrix_body(_envelope(result, warnings=["PromQL info: be careful"]))  # type: ignore[misc]
    assert warnings == ["PromQL info: be careful"] and matrix.points == 1
    native = [{"metric": {}, "histograms": [[1, {"count": "1"}]]}]
    assert parse_matrix_body(_envelope(native)) is None
    assert parse_matrix_body(b'{"status":"success","data":{"resultType":"vector","result":[]}}') is None


def test_parse_matrix_reads_vectors_and_scalars() -> None:
    vector = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"job": "api"}, "value": [1700000000.123, "0.5"]}]}}
    frame = parse_matrix(vector)
    assert frame["value"].tolist() == [0.5] and frame["series"].tolist() == ['{job="api"}']
    scalar = parse_matrix({"resultType": "scalar", "result": [1700000000, "2"]})
    assert scalar["series"].tolist() == ["{}"] and scalar["value"].tolist() == [2.0]


def test_three_days_at_15s_is_split_on_the_step_grid() -> None:
    start = pd.Timestamp("2024-03-01T00:00:00Z")
    end = start + pd.Timedelta(days=3)
    plan = plan_chunks(start, end, 15)
    assert len(plan) == 2  # 17,281 points
    assert plan[1][0] - plan[0][1] == pd.Timedelta(seconds=15)
    assert plan[0][0] == start and plan[-1][1] == end
    for s, e in plan:
        assert (e - s) / pd.Timedelta(seconds=15) + 1 <= MAX_POINTS_PER_SERIES


def test_naive_and_aware_windows_plan_identical_requests() -> None:
    aware = plan_chunks(pd.Timestamp("2024-03-01T10:00:00+02:00"), pd.Timestamp("2024-03-04T10:00:00+02:00"), 15)
    naive = plan_chunks(pd.Timestamp("2024-03-01T08:00:00"), pd.Timestamp("2024-03-04T08:00:00"), 15)
    assert aware == naive


@settings(max_examples=60, deadline=None)
@given(span_ms=st.integers(0, 10**9), step_ms=st.integers(1, 600_000), per=st.integers(1, 50))
def test_chunks_cover_the_grid_exactly(span_ms: int, step_ms: int, per: int) -> None:
    start = pd.Timestamp("2024-01-01T00:00:00.123Z")
    end = start + pd.Timedelta(milliseconds=span_ms)
    if span_ms // step_ms > 2000:  # keep the example small
        step_ms = span_ms // 2000 + 1
    plan = plan_chunks(start, end, step_ms / 1000, max_points=per)
    grid: list[pd.Timestamp] = []
    for s, e in plan:
        n = (e - s) // pd.Timedelta(milliseconds=step_ms) + 1
        assert n <= per
        grid.extend(s + i * pd.Timedelta(milliseconds=step_ms) for i in range(n))
    expected = [start + i * pd.Timedelta(milliseconds=step_ms) for i in range(span_ms // step_ms + 1)]
    assert grid == expected


def test_pivot_wide_and_expand_labels(chunks: list[list[dict]]) -> None:
    frame = matrix_frame(parse_matrix_result(chunks[0]))
    wide = pivot_wide(frame)
    assert wide.shape[1] == 9 and wide.index.tz is not None
    expanded = expand_labels(frame)
    assert {"__name__", "instance", "job", "monitor"} <= set(expanded.columns)
    assert (expanded["__name__"] == "up").all()
    by_instance = pivot_wide(frame, label="instance")
    assert set(by_instance.columns) == set(expanded["instance"].unique())
    assert pivot_wide(matrix_frame(Matrix([], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)))).empty
