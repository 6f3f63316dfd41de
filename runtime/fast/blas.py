"""NumPy's own BLAS matrix product, callable from compiled kernels.

The compiled Winograd conv multiplies each block of tiles inside one call that
releases the GIL once per layer, not once per block and step: the batch lanes'
threads then stop handing the GIL to each other between small calls. It calls
the cblas gemm of the BLAS NumPy itself loaded (found through threadpoolctl),
so there is one BLAS and one thread pool in the process, which the lanes
already hold at one thread. numba takes the function as an argument: a pointer
kept in a compiled function would stop numba from caching it.

NumPy's wheels bring OpenBLAS with 64-bit integers and prefixed names; other
builds may have none of the names below, and then `gemm` returns None and the
conv multiplies with np.matmul between compiled calls instead.
"""
from __future__ import annotations

import ctypes
import functools

import numpy as np

# Names of a 64-bit-integer cblas gemm, by BLAS build: NumPy's wheels, then
# OpenBLAS built with INTERFACE64 and a suffix.
NAMES = {np.dtype(np.float32): ("scipy_cblas_sgemm64_", "cblas_sgemm64_"),
         np.dtype(np.float64): ("scipy_cblas_dgemm64_", "cblas_dgemm64_")}
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112


@functools.lru_cache(maxsize=None)
def gemm(dtype):
    """cblas ?gemm of NumPy's BLAS for dtype (float32 or float64), or None:
    gemm(ROW_MAJOR, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)."""
    dtype = np.dtype(dtype)
    if dtype not in NAMES:
        return None
    from threadpoolctl import ThreadpoolController

    scalar = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    libraries = ThreadpoolController().select(user_api="blas").lib_controllers
    # NumPy's own first, should the process hold other BLAS libraries too
    for library in sorted(libraries, key=lambda lib: "numpy" not in lib.filepath):
        handle = ctypes.CDLL(library.filepath)
        for name in NAMES[dtype]:
            function = getattr(handle, name, None)
            if function is not None:
                i64, pointer = ctypes.c_int64, ctypes.c_void_p
                function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, i64, i64, i64, scalar,
                                     pointer, i64, pointer, i64, scalar, pointer, i64]
                function.restype = None
                return function
    return None
