"""Array strides that keep the compiled kernels clear of 4 KiB aliasing.

A load whose address agrees with an earlier, still pending store in its low
12 bits waits for that store as if they overlapped. A kernel loop that streams
several rows of one array at once (the Winograd transforms read and write 6 to
36) hits this whenever two of those rows lie a multiple of 4 KiB apart, and
runs several times slower (benchmarks/README.md has the cases). Padding each row a
little keeps every pair of rows the loops touch together apart.
"""
from __future__ import annotations

import numpy as np
from numba import njit

ALIAS = 4096
MARGIN = 64  # bytes: two AVX vectors on each side
SEARCH = 1024


# Inlined into the kernels that call them: each kernel's cache entry holds its own
# copy, so the two processes of warmup.py never write these functions' cache index
# at once (a lost entry would cost a later run a compile).
_inline = njit(cache=True, nogil=True, inline="always")


@_inline
def spaced(count, stride, rows):
    """The least count' >= count whose stride (count' * stride bytes) times any k in
    1..rows-1 lies at least MARGIN bytes off a multiple of 4 KiB; count itself when
    none within SEARCH does."""
    for padded in range(count, count + SEARCH):
        ok = True
        for k in range(1, rows):
            phase = (k * padded * stride) % ALIAS
            if phase < MARGIN or phase > ALIAS - MARGIN:
                ok = False
                break
        if ok:
            return padded
    return count


@_inline
def work_rows(rows, length, like):
    """An uninitialised (rows, >= length) array of like's dtype, its rows spaced: use
    its rows as bounded slices, r[k, :length] (whole rows of a 2-D array vectorize worse)."""
    return np.empty((rows, spaced(length, like.itemsize, rows)), like.dtype)
