"""Buffer-level string helpers: per-row leading-byte drops and byte scans agree with plain Python slicing."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from irlib.logs.arrowtext import drop_leading_bytes, may_contain_byte


def _expected(texts: list[str], cuts: list[int]) -> list[str]:
    return [t.encode()[c:].decode() for t, c in zip(texts, cuts)]


def test_drops_each_rows_own_header_across_the_inline_boundary() -> None:
    texts = ["2015-10-18 INFO hello", "x", "", "héllo wörld ünïcode", "abcdefghijklmnopqrstuvwxyz",
             "0123456789abcdef", "twelve bytes"]
    cuts = [16, 1, 0, 7, 1, 4, 0]  # leaves 5, 0, 0, long, 25, 12 (inline limit) and 12 bytes
    out = drop_leading_bytes(pa.array(texts, pa.large_string()), np.array(cuts))
    assert out is not None and out.type == pa.large_string()
    assert out.to_pylist() == _expected(texts, cuts)


def test_works_on_a_slice_of_a_larger_array() -> None:
    texts = [f"header{i:03d} message number {i} with some length" for i in range(50)]
    sliced = pa.array(texts, pa.large_string()).slice(7, 20)
    cuts = [9] * 20
    out = drop_leading_bytes(sliced, np.array(cuts))
    assert out is not None
    assert out.to_pylist() == _expected(texts[7:27], cuts)


def test_refuses_what_it_cannot_view() -> None:
    assert drop_leading_bytes(pa.array(["a", None], pa.large_string()), np.array([0, 0])) is None
    assert drop_leading_bytes(pa.array(["a"], pa.string()), np.array([0])) is None
    empty = pa.array([], pa.large_string())
    assert drop_leading_bytes(empty, np.array([], np.int64)) is empty
    with pytest.raises(ValueError):
        drop_leading_bytes(pa.array(["ab"], pa.large_string()), np.array([3]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=30)), min_size=1, max_size=40))
def test_matches_python_slicing_for_any_text(pairs: list[tuple[str, str]]) -> None:
    texts = [head + tail for head, tail in pairs]
    cuts = [len(head.encode()) for head, _ in pairs]
    out = drop_leading_bytes(pa.array(texts, pa.large_string()), np.array(cuts))
    assert out is not None
    assert out.to_pylist() == [tail for _, tail in pairs]


def test_byte_scan() -> None:
    assert may_contain_byte(pa.array(["a\nb", "c"], pa.large_string()), 10)
    assert not may_contain_byte(pa.array(["ab", "c"], pa.large_string()), 10)
    assert not may_contain_byte(pa.array(["", ""], pa.large_string()), 10)
    assert may_contain_byte(pa.chunked_array([pa.array(["x"]), pa.array(["y\n"])]), 10)
