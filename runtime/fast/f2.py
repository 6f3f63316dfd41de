"""Compiled Winograd F(2x2, 3x3) tile transforms (Numba), for runtime/fast/winograd.py.

The math of runtime/winograd.py: a 4x4 input tile d at stride 2 gives a 2x2
output A^T [(G g G^T) * (B^T d B)] A. Each kernel below works one row of tiles
across a block of images, over runs of (image, channel) values, which are
contiguous in HWNC memory; tiles come out ordered (tile column, image).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .. import winograd as reference

TILE_OUT = 2  # outputs per tile side
TILE_IN = 4  # inputs per tile side (TILE_OUT + 2)
weight_transform = reference.weight_transform
weight_transform_adjoint = reference.weight_transform_adjoint

# nogil: the batch lanes (runtime/lanes.py) run these on two threads at once.
# No fastmath, numpy's error model: NaN and Inf propagate.
_jit = njit(cache=True, nogil=True, error_model="numpy")
# The 1-D transforms over runs of values. Each is one loop over 1-D arrays with
# few of them (LLVM gives up vectorizing a loop with more than about 8 streams),
# inlined into the kernels so LLVM sees where their arrays come from.
_inline = njit(cache=True, nogil=True, error_model="numpy", inline="always")


@_inline
def _bt(d0, d1, d2, d3, o0, o1, o2, o3):
    """B^T along one axis: o = (d0 - d2, d1 + d2, d2 - d1, d1 - d3)."""
    for e in range(o0.shape[0]):
        o0[e] = d0[e] - d2[e]
        o1[e] = d1[e] + d2[e]
        o2[e] = d2[e] - d1[e]
        o3[e] = d1[e] - d3[e]


@_inline
def _b_add(g0, g1, g2, g3, o0, o1, o2, o3):
    """B along one axis (the transpose of _bt), added into o."""
    for e in range(o0.shape[0]):
        o0[e] += g0[e]
        o1[e] += g1[e] - g2[e] + g3[e]
        o2[e] += g1[e] + g2[e] - g0[e]
        o3[e] -= g3[e]


@_inline
def _b(g0, g1, g2, g3, o0, o1, o2, o3):
    """B along one axis: o = (g0, g1 - g2 + g3, g1 + g2 - g0, -g3)."""
    for e in range(o0.shape[0]):
        o0[e] = g0[e]
        o1[e] = g1[e] - g2[e] + g3[e]
        o2[e] = g1[e] + g2[e] - g0[e]
        o3[e] = -g3[e]


@_inline
def _at(m0, m1, m2, m3, o0, o1):
    """A^T along one axis: o = (m0 + m1 + m2, m1 - m2 - m3)."""
    for e in range(o0.shape[0]):
        o0[e] = m0[e] + m1[e] + m2[e]
        o1[e] = m1[e] - m2[e] - m3[e]


@_inline
def _at_bias(m0, m1, m2, m3, b, relu, o0, o1):
    """_at over runs of (image, filter) values, plus the bias b (F,) on both outputs;
    relu: then v * (v > 0), as the relu step computes it (NaN stays NaN)."""
    F = b.shape[0]
    for n in range(o0.shape[0] // F):
        s = n * F
        for f in range(F):
            v0 = m0[s + f] + m1[s + f] + m2[s + f] + b[f]
            v1 = m1[s + f] - m2[s + f] - m3[s + f] + b[f]
            o0[s + f] = v0 * (v0 > 0) if relu else v0
            o1[s + f] = v1 * (v1 > 0) if relu else v1


@_inline
def _a(d0, d1, o0, o1, o2, o3):
    """A along one axis (the transpose of _at): o = (d0, d0 + d1, d0 - d1, -d1)."""
    for e in range(o0.shape[0]):
        o0[e] = d0[e]
        o1[e] = d0[e] + d1[e]
        o2[e] = d0[e] - d1[e]
        o3[e] = -d1[e]


@_inline
def _input_transform(x, h, w, run, V, cols, r):
    """B^T d B of the 4x4 tile at row h, column w of x (Hp, Wp, N*C), over the run of
    values `run` (a slice) -> V[k].flat[cols] for the 16 k; r (16, >= run) is work space."""
    for j in range(4):  # down column j: r[4a + j] is row a of B^T d
        _bt(x[h, w + j, run], x[h + 1, w + j, run], x[h + 2, w + j, run], x[h + 3, w + j, run],
            r[j], r[4 + j], r[8 + j], r[12 + j])
    for a in range(4):  # then along row a
        k = 4 * a
        _bt(r[k], r[k + 1], r[k + 2], r[k + 3], V[k, cols], V[k + 1, cols], V[k + 2, cols], V[k + 3, cols])


@_inline
def _output_adjoint(g, h, w, run, dM, cols, r):
    """The gradient through A^T m A: output gradients at rows h, h + 1, columns w, w + 1
    of g (>= 2TH, >= 2TW, N*F), over `run` -> dM[k].flat[cols]; r (8, >= run) work space."""
    _a(g[h, w, run], g[h + 1, w, run], r[0], r[1], r[2], r[3])  # A down columns w, w + 1
    _a(g[h, w + 1, run], g[h + 1, w + 1, run], r[4], r[5], r[6], r[7])
    for k in range(4):  # then along each row k of the tile
        _a(r[k], r[4 + k], dM[4 * k, cols], dM[4 * k + 1, cols], dM[4 * k + 2, cols], dM[4 * k + 3, cols])


@_inline
def _input_adjoint(dV, cols, grad, h, w, run, r):
    """The gradient through B^T d B: dV[k].flat[cols] added into the 4x4 tile at row h,
    column w of grad (Hp, Wp, N*C) over `run`; r (16, >= run) work space."""
    for a in range(4):  # B along row a
        k = 4 * a
        _b(dV[k, cols], dV[k + 1, cols], dV[k + 2, cols], dV[k + 3, cols], r[k], r[k + 1], r[k + 2], r[k + 3])
    for j in range(4):  # then down column j, into the gradient
        _b_add(r[j], r[4 + j], r[8 + j], r[12 + j],
               grad[h, w + j, run], grad[h + 1, w + j, run], grad[h + 2, w + j, run], grad[h + 3, w + j, run])


@_inline
def _output_transform(M, cols, b, relu, h, w, OH, OW, y, run, s):
    """A^T m A of one tile's products M[k].flat[cols], plus the bias -> y (OH, OW, N*F)
    rows h, h + 1, columns w, w + 1 (those inside the output) over `run`; s (8, >= run)."""
    for j in range(4):  # A^T down column j: s[j], s[4 + j] are the tile's two output rows
        _at(M[j, cols], M[4 + j, cols], M[8 + j, cols], M[12 + j, cols], s[j], s[4 + j])
    for a in range(2):
        if h + a < OH:
            if w + 1 < OW:
                _at_bias(s[4 * a], s[4 * a + 1], s[4 * a + 2], s[4 * a + 3], b, relu, y[h + a, w, run], y[h + a, w + 1, run])
            else:  # the last column of an odd width: the second output is dropped
                _at_bias(s[4 * a], s[4 * a + 1], s[4 * a + 2], s[4 * a + 3], b, relu, y[h + a, w, run], s[8])


@_jit
def input_tiles(xp, th, n0, n, TW, V):
    """B^T d B of tile row th of images [n0, n0 + n): the padded images xp
    (2TH+2, >= 2TW+2, N, C) -> V (16, >= TW*n, C), tiles ordered (tw, image)."""
    Hp, Wp, N, C = xp.shape
    x = xp.reshape(Hp, Wp, N * C)
    Vf = V.reshape(16, V.shape[1] * C)
    r = np.empty((16, n * C), xp.dtype)
    for tw in range(TW):
        _input_transform(x, 2 * th, 2 * tw, slice(n0 * C, (n0 + n) * C), Vf, slice(tw * n * C, (tw + 1) * n * C), r)


@_jit
def output_tiles(M, b, relu, th, n0, n, TW, y):
    """A^T m A plus the bias b (F,) of tile row th of images [n0, n0 + n): the products
    M (16, >= TW*n, F) -> y (OH, OW, N, F), outputs beyond OH, OW dropped."""
    OH, OW, N, F = y.shape
    Mf = M.reshape(16, M.shape[1] * F)
    out = y.reshape(OH, OW, N * F)
    s = np.empty((9, n * F), y.dtype)
    for tw in range(TW):
        _output_transform(Mf, slice(tw * n * F, (tw + 1) * n * F), b, relu, 2 * th, 2 * tw, OH, OW, out,
                          slice(n0 * F, (n0 + n) * F), s)


@_jit
def output_tiles_adjoint(dy, th, n0, n, TW, dM):
    """The gradient through output_tiles: dy (2TH, 2TW, N, F), zero beyond the output,
    tile row th of images [n0, n0 + n) -> dM (16, >= TW*n, F)."""
    N, F = dy.shape[2:]
    g = dy.reshape(dy.shape[0], dy.shape[1], N * F)
    dMf = dM.reshape(16, dM.shape[1] * F)
    r = np.empty((8, n * F), dy.dtype)
    for tw in range(TW):
        _output_adjoint(g, 2 * th, 2 * tw, slice(n0 * F, (n0 + n) * F), dMf, slice(tw * n * F, (tw + 1) * n * F), r)


@_jit
def input_tiles_adjoint(dV, th, n0, n, TW, dxp):
    """The gradient through input_tiles: dV (16, >= TW*n, C) added into dxp (shaped
    like the padded images xp), overlapping tiles summed."""
    Hp, Wp, N, C = dxp.shape
    dVf = dV.reshape(16, dV.shape[1] * C)
    dx = dxp.reshape(Hp, Wp, N * C)
    r = np.empty((16, n * C), dxp.dtype)
    for tw in range(TW):
        _input_adjoint(dVf, slice(tw * n * C, (tw + 1) * n * C), dx, 2 * th, 2 * tw, slice(n0 * C, (n0 + n) * C), r)


def warm_calls(dtype):
    """This module's kernels with tiny arguments of dtype, typed as the layers call them:
    (the forward's, the backward's) lists of (kernel, args); see warmup.py."""
    xp, tiles, out = np.zeros((4, 4, 1, 1), dtype), np.zeros((16, 1, 1), dtype), np.zeros((2, 2, 1, 1), dtype)
    return ([(input_tiles, (xp, 0, 0, 1, 1, tiles)), (output_tiles, (tiles, np.zeros(1, dtype), False, 0, 0, 1, 1, out))],
            [(output_tiles_adjoint, (out, 0, 0, 1, 1, tiles)), (input_tiles_adjoint, (tiles, 0, 0, 1, 1, xp))])
