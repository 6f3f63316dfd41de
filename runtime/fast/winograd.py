"""Compiled kernels (Numba): Winograd F(2x2, 3x3) convolution, forward and backward.

The math, layouts and tile order of runtime/winograd.py (HWNC images, tiles
(th, tw, n), transformed tiles k-major (16, tiles, C)); each transform is one
compiled pass that reads its input once and writes its output once, where NumPy
makes a pass per add. The 16 tile products stay BLAS matmuls, chunk by chunk.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .. import winograd as reference
from ..scratch import Scratch

# nogil: the batch lanes (runtime/lanes.py) run these on two threads at once.
# No fastmath, numpy's error model: NaN and Inf propagate as in the NumPy kernels.
# The small 1-D transforms below are inlined by LLVM anyway; numba's own
# inline="always" only added about a second to the first run's compile time.
_jit = njit(cache=True, nogil=True, error_model="numpy")

# Rows of a (16, rows, C) tile array are padded so that the 16 planes are never
# a multiple of 4 KiB apart: loads and stores whose addresses agree in their low
# 12 bits falsely depend on each other in L1 (benchmarks/README.md has the cost).
_ALIAS = 4096
_ALIAS_MARGIN = 256


def unaliased(count: int, stride: int) -> int:
    """The least count' >= count whose multiple of `stride` bytes is off 4 KiB multiples
    (count itself when no small padding gets there, e.g. a stride of 4 KiB)."""
    for padded in range(count, count + 64):
        if min((padded * stride) % _ALIAS, -(padded * stride) % _ALIAS) >= _ALIAS_MARGIN:
            return padded
    return count


@_jit
def _bt(d0, d1, d2, d3):
    """B^T along one axis (as runtime/winograd.py's _bt, same order of operations)."""
    return d0 - d2, d1 + d2, d2 - d1, d1 - d3


@_jit
def _at(m0, m1, m2, m3):
    """A^T along one axis: two outputs of four."""
    return m0 + m1 + m2, m1 - m2 - m3


@_jit
def _a(d0, d1):
    """A along one axis, the transpose of _at."""
    return d0, d0 + d1, d0 - d1, -d1


@_jit
def _bt_t(g0, g1, g2, g3):
    """B along one axis, the transpose of _bt."""
    return g0, g1 - g2 + g3, g1 + g2 - g0, -g3


@_jit
def pad_hwnc(x, PH, PW, xp):
    """x (H, W, N, C) into the interior of xp (H + 2PH + ..., W + 2PW + ..., N, C);
    the border is left as it is (a reused, zeroed array)."""
    H, W, N, C = x.shape
    for h in range(H):
        for w in range(W):
            for n in range(N):
                for c in range(C):
                    xp[h + PH, w + PW, n, c] = x[h, w, n, c]


@_jit
def input_tiles(xp, lo, hi, TH, TW, V):
    """Padded xp (2TH+2, >= 2TW+2, N, C), images [lo, hi) -> V (16, >= tiles, C):
    B^T d B of every 4x4 tile at stride 2, tiles ordered (th, tw, n)."""
    C = xp.shape[3]
    t = 0
    for th in range(TH):
        h = 2 * th
        for tw in range(TW):
            w = 2 * tw
            for n in range(lo, hi):
                for c in range(C):
                    r0 = _bt(xp[h, w, n, c], xp[h + 1, w, n, c], xp[h + 2, w, n, c], xp[h + 3, w, n, c])
                    r1 = _bt(xp[h, w + 1, n, c], xp[h + 1, w + 1, n, c], xp[h + 2, w + 1, n, c],
                             xp[h + 3, w + 1, n, c])
                    r2 = _bt(xp[h, w + 2, n, c], xp[h + 1, w + 2, n, c], xp[h + 2, w + 2, n, c],
                             xp[h + 3, w + 2, n, c])
                    r3 = _bt(xp[h, w + 3, n, c], xp[h + 1, w + 3, n, c], xp[h + 2, w + 3, n, c],
                             xp[h + 3, w + 3, n, c])
                    for a in range(4):  # row a of B^T d, then B^T along the columns
                        v = _bt(r0[a], r1[a], r2[a], r3[a])
                        V[4 * a, t, c] = v[0]
                        V[4 * a + 1, t, c] = v[1]
                        V[4 * a + 2, t, c] = v[2]
                        V[4 * a + 3, t, c] = v[3]
                t += 1


@_jit
def output_tiles(M, b, lo, hi, TH, TW, y):
    """M (16, >= tiles, F) of images [lo, hi), bias b (F,) added to m_11 (it reaches all
    four outputs of a tile) -> y (OH, OW, N, F): A^T m A per tile, beyond OH, OW dropped."""
    OH, OW, _, F = y.shape
    t = 0
    for th in range(TH):
        h = 2 * th
        for tw in range(TW):
            w = 2 * tw
            for n in range(lo, hi):
                for f in range(F):
                    s0 = _at(M[0, t, f], M[4, t, f], M[8, t, f], M[12, t, f])
                    s1 = _at(M[1, t, f], M[5, t, f] + b[f], M[9, t, f], M[13, t, f])
                    s2 = _at(M[2, t, f], M[6, t, f], M[10, t, f], M[14, t, f])
                    s3 = _at(M[3, t, f], M[7, t, f], M[11, t, f], M[15, t, f])
                    for a in range(2):
                        if h + a < OH:
                            out = _at(s0[a], s1[a], s2[a], s3[a])
                            y[h + a, w, n, f] = out[0]
                            if w + 1 < OW:
                                y[h + a, w + 1, n, f] = out[1]
                t += 1


@_jit
def output_tiles_adjoint(dy, lo, hi, TH, TW, dM):
    """dy (OH, OW, N, F), images [lo, hi) -> dM (16, >= tiles, F): the gradient through
    output_tiles (outputs beyond OH, OW were dropped: they count as zero)."""
    OH, OW, _, F = dy.shape
    zero = np.zeros(1, dy.dtype)[0]
    t = 0
    for th in range(TH):
        h = 2 * th
        for tw in range(TW):
            w = 2 * tw
            for n in range(lo, hi):
                for f in range(F):
                    g00 = dy[h, w, n, f]
                    g01 = dy[h, w + 1, n, f] if w + 1 < OW else zero
                    g10 = dy[h + 1, w, n, f] if h + 1 < OH else zero
                    g11 = dy[h + 1, w + 1, n, f] if h + 1 < OH and w + 1 < OW else zero
                    r0 = _a(g00, g10)  # A along the tile rows, then along the columns
                    r1 = _a(g01, g11)
                    for k in range(4):
                        m = _a(r0[k], r1[k])
                        dM[4 * k, t, f] = m[0]
                        dM[4 * k + 1, t, f] = m[1]
                        dM[4 * k + 2, t, f] = m[2]
                        dM[4 * k + 3, t, f] = m[3]
                t += 1


@_jit
def input_tiles_adjoint(dV, lo, hi, TH, TW, dxp):
    """dV (16, >= tiles, C) of images [lo, hi) -> added into dxp (>= 2TH+2, >= 2TW+2, N, C),
    the padded input's gradient: the transpose of input_tiles, overlapping tiles summed."""
    C = dxp.shape[3]
    t = 0
    for th in range(TH):
        h = 2 * th
        for tw in range(TW):
            w = 2 * tw
            for n in range(lo, hi):
                for c in range(C):
                    # B along the columns of each row a of the tile, then along its rows
                    e0 = _bt_t(dV[0, t, c], dV[1, t, c], dV[2, t, c], dV[3, t, c])
                    e1 = _bt_t(dV[4, t, c], dV[5, t, c], dV[6, t, c], dV[7, t, c])
                    e2 = _bt_t(dV[8, t, c], dV[9, t, c], dV[10, t, c], dV[11, t, c])
                    e3 = _bt_t(dV[12, t, c], dV[13, t, c], dV[14, t, c], dV[15, t, c])
                    for j in range(4):
                        d = _bt_t(e0[j], e1[j], e2[j], e3[j])
                        dxp[h, w + j, n, c] += d[0]
                        dxp[h + 1, w + j, n, c] += d[1]
                        dxp[h + 2, w + j, n, c] += d[2]
                        dxp[h + 3, w + j, n, c] += d[3]
                t += 1


@_jit
def crop_hwnc(xp, PH, PW, x):
    """The interior x (H, W, N, C) of a padded xp: pad_hwnc's adjoint."""
    H, W, N, C = x.shape
    for h in range(H):
        for w in range(W):
            for n in range(N):
                for c in range(C):
                    x[h, w, n, c] = xp[h + PH, w + PW, n, c]


def _tiles(scratch: Scratch, name, T: int, C: int, dtype) -> np.ndarray:
    """A (16, T, C) view of a scratch array whose planes are padded off 4 KiB multiples."""
    return scratch(name, (16, unaliased(T, C * np.dtype(dtype).itemsize), C), dtype)[:, :T]


def _padded(scratch: Scratch, name, TH: int, TW: int, N: int, C: int, dtype) -> np.ndarray:
    """A zeroed (2TH+2, >= 2TW+2, N, C) scratch array for a padded image batch, its rows
    off 4 KiB multiples (the tile kernels touch four rows at once)."""
    width = unaliased(2 * TW + 2, N * C * np.dtype(dtype).itemsize)
    return scratch(name, (2 * TH + 2, width, N, C), dtype)


def _hwnc(a: np.ndarray) -> np.ndarray:
    """An NCHW-shaped array's (H, W, N, C) view, contiguous (a copy when it is not HWNC)."""
    return np.ascontiguousarray(a.transpose(2, 3, 0, 1))


class WinogradConv:
    """A conv layer's Winograd work: forward keeps the chunks' input tiles for backward."""

    def __init__(self, PH: int, PW: int, chunk: int):
        self.PH, self.PW, self.chunk = PH, PW, chunk
        self.scratch = Scratch()
        self.tiles: list | None = None
        self.U = None

    def _spans(self, N):
        return [(lo, min(lo + self.chunk, N)) for lo in range(0, N, self.chunk)]

    def forward(self, x, W, b, train: bool) -> np.ndarray:
        """x (N, C, H, W) -> (N, F, OH, OW) with HWNC memory."""
        N, C, H, Wd = x.shape
        F = W.shape[0]
        OH, OW = H + 2 * self.PH - 2, Wd + 2 * self.PW - 2
        TH, TW = reference.tile_counts(OH, OW)
        xp = _padded(self.scratch, "padded", TH, TW, N, C, x.dtype)
        pad_hwnc(_hwnc(x), self.PH, self.PW, xp)
        U = reference.weight_transform(W)
        y = np.empty((OH, OW, N, F), x.dtype)
        tiles = []
        for lo, hi in self._spans(N):
            T = TH * TW * (hi - lo)
            V = _tiles(self.scratch, ("kept", lo) if train else "tiles", T, C, x.dtype)
            input_tiles(xp, lo, hi, TH, TW, V)
            M = np.matmul(V, U, out=_tiles(self.scratch, "products", T, F, x.dtype))
            output_tiles(M, b, lo, hi, TH, TW, y)
            tiles.append(V)
        self.tiles, self.U = (tiles, U) if train else (None, None)
        return y.transpose(2, 3, 0, 1)

    def backward(self, dout, input_grad: bool):
        """dout (N, F, OH, OW) -> (dx (N, C, H, W) HWNC or None, dW, db)."""
        if self.tiles is None:
            raise RuntimeError("conv: backward needs a forward with train=True")
        dy = _hwnc(dout)
        OH, OW, N, F = dy.shape
        C = self.U.shape[1]
        H, Wd = OH + 2 - 2 * self.PH, OW + 2 - 2 * self.PW
        TH, TW = reference.tile_counts(OH, OW)
        # a matrix-vector product: far faster than np.sum over three leading axes
        db = np.ones(OH * OW * N, dy.dtype) @ dy.reshape(-1, F)
        dU = np.zeros((16, C, F), dy.dtype)
        partial = np.empty_like(dU)
        if input_grad:
            Ut = np.ascontiguousarray(self.U.transpose(0, 2, 1))
            dxp = _padded(self.scratch, "grad_padded", TH, TW, N, C, dy.dtype)
            dxp.fill(0)
        for (lo, hi), V in zip(self._spans(N), self.tiles):
            T = TH * TW * (hi - lo)
            dM = _tiles(self.scratch, "grad_products", T, F, dy.dtype)
            output_tiles_adjoint(dy, lo, hi, TH, TW, dM)
            dU += np.matmul(V.transpose(0, 2, 1), dM, out=partial)
            if input_grad:
                dV = np.matmul(dM, Ut, out=_tiles(self.scratch, "grad_tiles", T, C, dy.dtype))
                input_tiles_adjoint(dV, lo, hi, TH, TW, dxp)
        dW = reference.weight_transform_adjoint(dU)
        if not input_grad:
            return None, dW, db
        dx = np.empty((H, Wd, N, C), dy.dtype)
        crop_hwnc(dxp, self.PH, self.PW, dx)
        return dx.transpose(2, 3, 0, 1), dW, db
