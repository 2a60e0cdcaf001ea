"""Run an element-wise Arrow function over slices of a large array in threads (Arrow releases the GIL).

Regex kernels in ``pyarrow.compute`` run one call on one core; slicing a million-row array into one slice per core
and concatenating the results gives the same answer on every core.  Small arrays are run as they are.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pyarrow as pa

T = TypeVar("T")
MIN_ROWS_PER_SLICE = 50_000
MAX_WORKERS = 4


def worker_count() -> int:
    """Threads to use: one per core, at most :data:`MAX_WORKERS`."""
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def sliced_map(func: Callable[[pa.Array], T], array: pa.Array) -> list[T]:
    """``func`` applied to consecutive slices of ``array`` (in threads when it is large), results in order."""
    workers = min(worker_count(), len(array) // MIN_ROWS_PER_SLICE)
    if workers <= 1:
        return [func(array)]
    step = -(-len(array) // workers)
    slices = [array.slice(start, step) for start in range(0, len(array), step)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(func, slices))


def concat(parts: list[pa.Array]) -> pa.Array:
    """One array from the parts (the single part itself when there is only one)."""
    if len(parts) == 1:
        return parts[0]
    return pa.concat_arrays([p.combine_chunks() if isinstance(p, pa.ChunkedArray) else p for p in parts])
