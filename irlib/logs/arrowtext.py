"""String-array helpers that work on Arrow's buffers where ``pyarrow.compute`` has no cheap kernel.

- :func:`drop_leading_bytes` drops a different number of leading bytes from each row.  ``pyarrow.compute`` slices
  every row by the same amount; removing each line's own header (a different length on every line) would otherwise
  take a second regex pass (``split_pattern_regex``), which costs as much as parsing the header.  Instead it builds an
  Arrow ``string_view`` array whose views point into the input's data buffer just after each header (work per row,
  not per byte) and casts it back to ``large_string`` in C++.
- :func:`may_contain_byte` answers "does any row hold this byte?" with one vectorised scan of the data buffer.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

_INLINE_MAX = 12  # a string_view holds strings of up to 12 bytes inline (Arrow columnar format)
_MAX_VIEW_OFFSET = (1 << 31) - 1


def drop_leading_bytes(strings: pa.Array, counts: np.ndarray) -> pa.Array | None:
    """``strings`` (large_string, no nulls) with the first ``counts[i]`` bytes of row ``i`` removed.

    Each count must end on a character boundary and be at most the row's length (a regex match's byte length
    does both).  Returns None when the input cannot be viewed (nulls, or a data buffer past 2 GiB): the caller
    then slices another way.
    """
    n = len(strings)
    if strings.type != pa.large_string() or strings.null_count or n == 0:
        return None if n else strings
    offsets = np.frombuffer(strings.buffers()[1], np.int64, count=n + 1, offset=strings.offset * 8)
    data = strings.buffers()[2]
    if data is None or offsets[-1] == 0:
        return strings
    if offsets[-1] > _MAX_VIEW_OFFSET:
        return None
    counts = np.asarray(counts, dtype=np.int64)
    begin = offsets[:-1] + counts
    length = offsets[1:] - begin
    if (length < 0).any():
        raise ValueError("a byte count is longer than its string")
    views = np.zeros((n, 16), np.uint8)
    views[:, 0:4] = length.astype("<i4").view(np.uint8).reshape(n, 4)
    raw = np.frombuffer(data, np.uint8, count=int(offsets[-1]))
    head = raw[np.minimum(begin[:, None] + np.arange(_INLINE_MAX), len(raw) - 1)]
    inline = length <= _INLINE_MAX
    head[np.arange(_INLINE_MAX)[None, :] >= length[:, None]] = 0  # inline strings are zero-padded
    views[inline, 4:16] = head[inline]
    outside = ~inline
    views[outside, 4:8] = head[outside, :4]  # prefix; bytes 8..12 stay 0: the (only) data buffer's index
    views[outside, 12:16] = begin[outside].astype("<i4").view(np.uint8).reshape(-1, 4)
    viewed = pa.Array.from_buffers(pa.string_view(), n, [None, pa.py_buffer(views), data])
    return viewed.cast(pa.large_string())


def may_contain_byte(strings: pa.Array, byte: int) -> bool:
    """Whether the data buffer of ``strings`` holds ``byte`` (a vectorised scan instead of a substring kernel).

    False means no row contains it; True may come from bytes outside a sliced array's rows (check further).
    """
    if isinstance(strings, pa.ChunkedArray):
        return any(may_contain_byte(chunk, byte) for chunk in strings.chunks)
    data = strings.buffers()[2] if len(strings.buffers()) > 2 else None
    if data is None or data.size == 0:
        return False
    return bool((np.frombuffer(data, np.uint8) == byte).any())
