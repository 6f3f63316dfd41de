"""Compiled Winograd F(4x4, 3x3) tile transforms (Numba), for runtime/fast/winograd.py.

A 6x6 input tile d at stride 4 and a 3x3 filter g give a 4x4 output
Y = A^T [(G g G^T) * (B^T d B)] A, with the matrices of Lavin & Gray ("Fast
Algorithms for Convolutional Neural Networks", 2015) below. The kernels have
the shape of f2.py's: one row of tiles across a block of images, over runs of
(image, channel) values; transformed tiles are k-major (36, tiles, C).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import blas
from .spacing import work_rows

TILE_OUT = 4
TILE_IN = 6

# B^T, G and A^T of F(4x4, 3x3). The kernels apply B^T and A^T (and their
# transposes) as the adds written out in _bt, _b, _at and _a; G as a matrix.
BT = np.array([[4, 0, -5, 0, 1, 0],
               [0, -4, -4, 1, 1, 0],
               [0, 4, -4, -1, 1, 0],
               [0, -2, -1, 2, 1, 0],
               [0, 2, -1, -2, 1, 0],
               [0, 4, 0, -5, 0, 1]], dtype=np.float64)
G = np.array([[1 / 4, 0, 0],
              [-1 / 6, -1 / 6, -1 / 6],
              [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6],
              [1 / 24, -1 / 12, 1 / 6],
              [0, 0, 1]], dtype=np.float64)
AT = np.array([[1, 1, 1, 1, 1, 0],
               [0, 1, -1, 2, -2, 0],
               [0, 1, 1, 4, 4, 0],
               [0, 1, -1, 8, -8, 1]], dtype=np.float64)
GG = np.kron(G, G)  # (36, 9): vec(G g G^T) = (G kron G) vec(g), row-major
# In the weights' own dtype, since it runs every forward: in float32 it loses
# about 3e-8 of U's scale, far below what the tile transforms lose.
_GG = {np.dtype(t): GG.astype(t) for t in (np.float32, np.float64)}


def weight_transform(W: np.ndarray) -> np.ndarray:
    """(F, C, 3, 3) -> U (36, C, F): G g G^T per filter."""
    F, C = W.shape[:2]
    U = _GG[W.dtype] @ W.reshape(F * C, 9).T
    return np.ascontiguousarray(U.reshape(36, F, C).transpose(0, 2, 1))


def weight_transform_adjoint(dU: np.ndarray) -> np.ndarray:
    """dU (36, C, F) -> dW (F, C, 3, 3): the gradient through weight_transform."""
    _, C, F = dU.shape
    dW = _GG[dU.dtype].T @ dU.transpose(0, 2, 1).reshape(36, F * C)
    return np.ascontiguousarray(dW.T).reshape(F, C, 3, 3)


# nogil: the batch lanes (runtime/lanes.py) run these on two threads at once.
# No fastmath, numpy's error model: NaN and Inf propagate.
_jit = njit(cache=True, nogil=True, error_model="numpy")
# The 1-D transforms, inlined so that LLVM sees where their arrays come from
# and vectorizes their loops. Coefficients are float32 constants: a Python int
# would make numba compute a float32 run in float64 (float64 runs stay float64).
_inline = njit(cache=True, nogil=True, error_model="numpy", inline="always")
_2, _4, _5, _8 = np.float32(2), np.float32(4), np.float32(5), np.float32(8)


@_inline
def _bt(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5):
    """B^T along one axis."""
    for e in range(o0.shape[0]):
        o0[e] = _4 * d0[e] - _5 * d2[e] + d4[e]
        o1[e] = d3[e] + d4[e] - _4 * (d1[e] + d2[e])
        o2[e] = d4[e] - d3[e] + _4 * (d1[e] - d2[e])
        o3[e] = d4[e] - d2[e] + _2 * (d3[e] - d1[e])
        o4[e] = d4[e] - d2[e] - _2 * (d3[e] - d1[e])
        o5[e] = _4 * d1[e] - _5 * d3[e] + d5[e]


@_inline
def _add(g, o):
    """o += g."""
    for e in range(o.shape[0]):
        o[e] += g[e]


@_inline
def _b(g0, g1, g2, g3, g4, g5, o0, o1, o2, o3, o4, o5):
    """B along one axis: the transpose of _bt."""
    for e in range(o0.shape[0]):
        o0[e] = _4 * g0[e]
        o1[e] = _4 * (g2[e] - g1[e] + g5[e]) + _2 * (g4[e] - g3[e])
        o2[e] = -(_5 * g0[e] + _4 * (g1[e] + g2[e]) + g3[e] + g4[e])
        o3[e] = g1[e] - g2[e] + _2 * (g3[e] - g4[e]) - _5 * g5[e]
        o4[e] = g0[e] + g1[e] + g2[e] + g3[e] + g4[e]
        o5[e] = g5[e]


@_inline
def _at(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3):
    """A^T along one axis: four outputs of six."""
    for e in range(o0.shape[0]):
        o0[e] = m0[e] + m1[e] + m2[e] + m3[e] + m4[e]
        o1[e] = m1[e] - m2[e] + _2 * (m3[e] - m4[e])
        o2[e] = m1[e] + m2[e] + _4 * (m3[e] + m4[e])
        o3[e] = m1[e] - m2[e] + _8 * (m3[e] - m4[e]) + m5[e]


@_inline
def _at_bias(m0, m1, m2, m3, m4, m5, b, relu, o0, o1, o2, o3):
    """_at over runs of (image, filter) values, plus the bias b (F,) on every output;
    relu: then v * (v > 0), as the relu step computes it (NaN stays NaN)."""
    F = b.shape[0]
    for n in range(o0.shape[0] // F):
        s = n * F
        for f in range(F):
            i = s + f
            v0 = m0[i] + m1[i] + m2[i] + m3[i] + m4[i] + b[f]
            v1 = m1[i] - m2[i] + _2 * (m3[i] - m4[i]) + b[f]
            v2 = m1[i] + m2[i] + _4 * (m3[i] + m4[i]) + b[f]
            v3 = m1[i] - m2[i] + _8 * (m3[i] - m4[i]) + m5[i] + b[f]
            if relu:
                v0, v1, v2, v3 = v0 * (v0 > 0), v1 * (v1 > 0), v2 * (v2 > 0), v3 * (v3 > 0)
            o0[i] = v0
            o1[i] = v1
            o2[i] = v2
            o3[i] = v3


@_inline
def _a(g0, g1, g2, g3, o0, o1, o2, o3, o4, o5):
    """A along one axis (the transpose of _at): six outputs of four."""
    for e in range(o0.shape[0]):
        o0[e] = g0[e]
        o1[e] = g0[e] + g1[e] + g2[e] + g3[e]
        o2[e] = g0[e] - g1[e] + g2[e] - g3[e]
        o3[e] = g0[e] + _2 * g1[e] + _4 * g2[e] + _8 * g3[e]
        o4[e] = g0[e] - _2 * g1[e] + _4 * g2[e] - _8 * g3[e]
        o5[e] = g3[e]


@_inline
def _input_transform(x, h, w, run, V, cols, r):
    """B^T d B of the 6x6 tile at row h, column w of x (Hp, Wp, R), over the run of
    values `run` (a slice of each pixel's R) -> V[k, cols] for the 36 k; r (36, >= L)
    work rows, L the run's length."""
    e = slice(0, run.stop - run.start)
    for j in range(6):  # down column j: r[6a + j] is row a of B^T d
        _bt(x[h, w + j, run], x[h + 1, w + j, run], x[h + 2, w + j, run],
            x[h + 3, w + j, run], x[h + 4, w + j, run], x[h + 5, w + j, run],
            r[j, e], r[6 + j, e], r[12 + j, e], r[18 + j, e], r[24 + j, e], r[30 + j, e])
    for a in range(6):  # then along row a
        k = 6 * a
        _bt(r[k, e], r[k + 1, e], r[k + 2, e], r[k + 3, e], r[k + 4, e], r[k + 5, e],
            V[k, cols], V[k + 1, cols], V[k + 2, cols], V[k + 3, cols], V[k + 4, cols], V[k + 5, cols])


@_inline
def _output_transform(M, cols, b, relu, h, w, OH, OW, y, run, s):
    """A^T m A of one tile's products M[k, cols], plus the bias -> the 4x4 outputs at
    row h, column w of y (OH, OW, R) that lie inside it, over `run`; s (25, >= L) work
    rows (the last takes outputs beyond the edge)."""
    e = slice(0, run.stop - run.start)
    for j in range(6):  # A^T down column j: s[6a + j] is output row a
        _at(M[j, cols], M[6 + j, cols], M[12 + j, cols], M[18 + j, cols], M[24 + j, cols], M[30 + j, cols],
            s[j, e], s[6 + j, e], s[12 + j, e], s[18 + j, e])
    spill = s[24, e]
    for a in range(4):
        if h + a < OH:
            k = 6 * a
            _at_bias(s[k, e], s[k + 1, e], s[k + 2, e], s[k + 3, e], s[k + 4, e], s[k + 5, e], b, relu,
                     y[h + a, w, run], y[h + a, w + 1, run] if w + 1 < OW else spill,
                     y[h + a, w + 2, run] if w + 2 < OW else spill, y[h + a, w + 3, run] if w + 3 < OW else spill)


@_inline
def _output_adjoint(g, h, w, run, dM, cols, r):
    """The gradient through A^T m A: output gradients at rows h..h + 3, columns w..w + 3
    of g (>= 4TH, >= 4TW, R), over `run` -> dM[k, cols]; r (24, >= L) work rows."""
    e = slice(0, run.stop - run.start)
    for j in range(4):  # A down output column j: r[4k + j] is row k of the tile
        _a(g[h, w + j, run], g[h + 1, w + j, run], g[h + 2, w + j, run], g[h + 3, w + j, run],
           r[j, e], r[4 + j, e], r[8 + j, e], r[12 + j, e], r[16 + j, e], r[20 + j, e])
    for k in range(6):  # then along row k
        i = 6 * k
        _a(r[4 * k, e], r[4 * k + 1, e], r[4 * k + 2, e], r[4 * k + 3, e],
           dM[i, cols], dM[i + 1, cols], dM[i + 2, cols], dM[i + 3, cols], dM[i + 4, cols], dM[i + 5, cols])


@_inline
def _input_adjoint(dV, cols, grad, h, w, run, r, t):
    """The gradient through B^T d B: dV[k, cols] added into the 6x6 tile at row h,
    column w of grad (Hp, Wp, R) over `run`; r (36, >= L) and t (6, >= 6L) work rows."""
    L = run.stop - run.start
    e = slice(0, L)
    for a in range(6):  # B along row a
        k = 6 * a
        _b(dV[k, cols], dV[k + 1, cols], dV[k + 2, cols], dV[k + 3, cols], dV[k + 4, cols], dV[k + 5, cols],
           r[k, e], r[k + 1, e], r[k + 2, e], r[k + 3, e], r[k + 4, e], r[k + 5, e])
    for j in range(6):  # then down column j: t[i, jL:(j+1)L] is the gradient at tile row i, column j
        c = slice(j * L, (j + 1) * L)
        _b(r[j, e], r[6 + j, e], r[12 + j, e], r[18 + j, e], r[24 + j, e], r[30 + j, e],
           t[0, c], t[1, c], t[2, c], t[3, c], t[4, c], t[5, c])
    for i in range(6):
        for j in range(6):
            _add(t[i, j * L:(j + 1) * L], grad[h + i, w + j, run])


@_jit
def input_tiles(xp, th, n0, n, TW, V):
    """B^T d B of tile row th of images [n0, n0 + n): the padded images xp
    (4TH+2, >= 4TW+2, N, C) -> V (36, >= TW*n, C), tiles ordered (tw, image)."""
    Hp, Wp, N, C = xp.shape
    L = n * C
    x = xp.reshape(Hp, Wp, N * C)
    Vf = V.reshape(36, V.shape[1] * C)
    r = work_rows(36, L, xp)
    for tw in range(TW):
        _input_transform(x, 4 * th, 4 * tw, slice(n0 * C, n0 * C + L), Vf, slice(tw * L, (tw + 1) * L), r)


@_jit
def output_tiles(M, b, relu, th, n0, n, TW, y):
    """A^T m A plus the bias b (F,) of tile row th of images [n0, n0 + n): the products
    M (36, >= TW*n, F) -> y (OH, OW, N, F), outputs beyond OH, OW dropped; relu: then
    v * (v > 0)."""
    OH, OW, N, F = y.shape
    L = n * F
    Mf = M.reshape(36, M.shape[1] * F)
    out = y.reshape(OH, OW, N * F)
    s = work_rows(25, L, y)
    for tw in range(TW):
        _output_transform(Mf, slice(tw * L, (tw + 1) * L), b, relu, 4 * th, 4 * tw, OH, OW, out,
                          slice(n0 * F, n0 * F + L), s)


@_jit
def output_tiles_adjoint(dy, th, n0, n, TW, dM):
    """The gradient through output_tiles: dy (4TH, 4TW, N, F), zero beyond the output,
    tile row th of images [n0, n0 + n) -> dM (36, >= TW*n, F)."""
    N, F = dy.shape[2:]
    L = n * F
    g = dy.reshape(dy.shape[0], dy.shape[1], N * F)
    dMf = dM.reshape(36, dM.shape[1] * F)
    r = work_rows(24, L, dy)
    for tw in range(TW):
        _output_adjoint(g, 4 * th, 4 * tw, slice(n0 * F, n0 * F + L), dMf, slice(tw * L, (tw + 1) * L), r)


@_jit
def input_tiles_adjoint(dV, th, n0, n, TW, dxp):
    """The gradient through input_tiles: dV (36, >= TW*n, C) added into dxp (shaped
    like the padded images xp), overlapping tiles summed."""
    Hp, Wp, N, C = dxp.shape
    L = n * C
    dVf = dV.reshape(36, dV.shape[1] * C)
    grad = dxp.reshape(Hp, Wp, N * C)
    r = work_rows(36, L, dxp)
    t = work_rows(6, 6 * L, dxp)
    for tw in range(TW):
        _input_adjoint(dVf, slice(tw * L, (tw + 1) * L), grad, 4 * th, 4 * tw, slice(n0 * C, n0 * C + L), r, t)



# The layer-sized kernels: a whole forward or backward in one call, each block's
# products through NumPy's BLAS (blas.py), so the GIL is released once per layer.
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


@_jit
def forward(xp, U, b, relu, TH, TW, block, V, M, y, one, zero, gemm):
    """The padded images xp (4TH+2, >= 4TW+2, N, C), U (36, C, F), bias b -> y (OH, OW, N, F),
    block by block (a tile row across `block` images) through the work arrays V, M
    (36, >= TW*block, C or F); one and zero in the dtype, gemm the BLAS's cblas gemm."""
    N, C, F = xp.shape[2], xp.shape[3], y.shape[3]
    for th in range(TH):
        for n0 in range(0, N, block):
            n = min(block, N - n0)
            input_tiles(xp, th, n0, n, TW, V)
            for k in range(36):
                gemm(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, TW * n, F, C, one, V[k].ctypes.data, C,
                     U[k].ctypes.data, F, zero, M[k].ctypes.data, F)
            output_tiles(M, b, relu, th, n0, n, TW, y)


@_jit
def backward(xp, dy, U, TH, TW, block, V, dM, dV, dU, dxp, one, zero, gemm):
    """The gradient of forward: dy (4TH, 4TW, N, F), zero beyond the output -> dU (36, C, F)
    and, when dxp has images, the padded images' gradient added into dxp (like xp)."""
    N, C, F = xp.shape[2], xp.shape[3], dy.shape[3]
    dU[...] = 0
    for th in range(TH):
        for n0 in range(0, N, block):
            n = min(block, N - n0)
            T = TW * n
            input_tiles(xp, th, n0, n, TW, V)
            output_tiles_adjoint(dy, th, n0, n, TW, dM)
            for k in range(36):   # dU[k] += V[k]^T dM[k]
                gemm(_ROW_MAJOR, _TRANS, _NO_TRANS, C, F, T, one, V[k].ctypes.data, C,
                     dM[k].ctypes.data, F, one, dU[k].ctypes.data, F)
            if dxp.shape[2]:
                for k in range(36):   # dV[k] = dM[k] U[k]^T
                    gemm(_ROW_MAJOR, _NO_TRANS, _TRANS, T, C, F, one, dM[k].ctypes.data, F,
                         U[k].ctypes.data, F, zero, dV[k].ctypes.data, C)
                input_tiles_adjoint(dV, th, n0, n, TW, dxp)

def warm_calls(dtype):
    """This module's kernels with tiny arguments of dtype, typed as the layers call them:
    (the forward's, the backward's) lists of (kernel, args); see warmup.py."""
    xp, tiles, out = np.zeros((6, 6, 1, 1), dtype), np.zeros((36, 1, 1), dtype), np.zeros((4, 4, 1, 1), dtype)
    b, one, zero, gemm = np.zeros(1, dtype), np.dtype(dtype).type(1), np.dtype(dtype).type(0), blas.gemm(dtype)
    if gemm is None:   # the conv calls the block kernels from Python
        return ([(input_tiles, (xp, 0, 0, 1, 1, tiles)), (output_tiles, (tiles, b, False, 0, 0, 1, 1, out))],
                [(output_tiles_adjoint, (out, 0, 0, 1, 1, tiles)), (input_tiles_adjoint, (tiles, 0, 0, 1, 1, xp))])
    return ([(forward, (xp, tiles, b, False, 1, 1, 1, tiles, tiles, out, one, zero, gemm))],
            [(backward, (xp, out, tiles, 1, 1, 1, tiles, tiles, tiles, tiles, xp, one, zero, gemm))])
