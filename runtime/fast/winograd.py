"""Compiled kernels (Numba): Winograd convolution, F(2x2, 3x3) or F(4x4, 3x3).

The layouts are runtime/winograd.py's: HWNC images, transformed tiles k-major
in (TILE_IN^2, tiles, C) arrays, so that the TILE_IN^2 elementwise products over
the channels become TILE_IN^2 matrix products. The work goes a block at a time:
one row of tiles across `block` images. The compiled kernels (f2.py, f4.py)
transform a block's tiles, NumPy's BLAS multiplies them, and the kernels
transform the products back while the block is still in the core's cache.
With F(4x4) and NumPy's cblas gemm at hand (blas.py) a whole forward or
backward is one compiled call, which releases the GIL once; otherwise the
block kernels are called from here, np.matmul between them.

F(4x4, 3x3) makes 36 products for 16 outputs where F(2x2, 3x3) makes 16 for 4
(0.56x the multiplies); its transforms add more, with coefficients up to 8,
which costs float32 a little accuracy (see tests/test_fast_kernels.py).

The backward computes the input tiles again from the padded input the forward
kept: cheaper than keeping them (2-4x the input) and reading them back.
"""
from __future__ import annotations

import functools

import numpy as np

from ..scratch import Scratch
from . import blas, f2, f4
from .spacing import spaced

TILES = {"numba-winograd": f2, "numba-winograd4": f4}


@functools.lru_cache(maxsize=256)
def _spaced(count: int, stride: int, rows: int) -> int:
    """spaced(), remembered: the same few shapes come back every step."""
    return spaced(count, stride, rows)


class WinogradConv:
    """A conv layer's Winograd work with the tiles of `kernel`; the forward keeps the
    padded input for the backward."""

    def __init__(self, PH: int, PW: int, block: int, kernel: str = "numba-winograd"):
        self.PH, self.PW, self.block = PH, PW, block
        self.tiles = TILES[kernel]
        self.scratch = Scratch()
        self.xp = None
        self.U = None

    def _gemm(self, dtype):
        """NumPy's cblas gemm for dtype when found and the tiles have layer kernels, else None."""
        return blas.gemm(dtype) if hasattr(self.tiles, "forward") else None

    def _counts(self, OH: int, OW: int) -> tuple[int, int]:
        m = self.tiles.TILE_OUT
        return -(-OH // m), -(-OW // m)

    def _blocks(self, TH: int, N: int):
        """(tile row, first image, images) of each block, in order."""
        block = min(self.block, N)
        return [(th, n0, min(block, N - n0)) for th in range(TH) for n0 in range(0, N, block)]

    def _work(self, name: str, rows: int, C: int, dtype) -> np.ndarray:
        """A (TILE_IN^2, >= rows, C) scratch array, its planes spaced (spacing.py)."""
        planes = self.tiles.TILE_IN ** 2
        return self.scratch(name, (planes, _spaced(rows, C * np.dtype(dtype).itemsize, planes), C), dtype)

    def _padded(self, name: str, TH: int, TW: int, N: int, C: int, dtype) -> np.ndarray:
        """A zeroed scratch array for the padded images, whole tiles, its rows spaced
        (spacing.py; the kernels read TILE_IN rows at once)."""
        m, extra = self.tiles.TILE_OUT, self.tiles.TILE_IN - self.tiles.TILE_OUT
        width = _spaced(m * TW + extra, N * C * np.dtype(dtype).itemsize, self.tiles.TILE_IN)
        return self.scratch(name, (m * TH + extra, width, N, C), dtype)

    def forward(self, x, W, b, train: bool, relu: bool = False) -> np.ndarray:
        """x (N, C, H, W) -> (N, F, OH, OW) with HWNC memory; relu: y * (y > 0) of it."""
        N, C, H, Wd = x.shape
        F = W.shape[0]
        OH, OW = H + 2 * self.PH - 2, Wd + 2 * self.PW - 2
        TH, TW = self._counts(OH, OW)
        xp = self._padded("padded", TH, TW, N, C, x.dtype)
        xp[self.PH:self.PH + H, self.PW:self.PW + Wd] = x.transpose(2, 3, 0, 1)
        U = self.tiles.weight_transform(W)
        y = np.empty((OH, OW, N, F), x.dtype)
        rows = TW * min(self.block, N)
        V = self._work("tiles", rows, C, x.dtype)
        M = self._work("products", rows, F, x.dtype)
        gemm = self._gemm(x.dtype)
        if gemm is not None:   # the whole layer in one compiled call
            one, zero = x.dtype.type(1), x.dtype.type(0)
            self.tiles.forward(xp, U, b, relu, TH, TW, min(self.block, N), V, M, y, one, zero, gemm)
        else:
            self._forward_blocks(xp, U, b, relu, TH, TW, N, V, M, y)
        self.xp, self.U = (xp, U) if train else (None, None)
        return y.transpose(2, 3, 0, 1)

    def _forward_blocks(self, xp, U, b, relu, TH, TW, N, V, M, y):
        """The forward's blocks with NumPy's matmul between compiled calls (no gemm found)."""
        for th, n0, n in self._blocks(TH, N):
            T = TW * n
            self.tiles.input_tiles(xp, th, n0, n, TW, V)
            np.matmul(V[:, :T], U, out=M[:, :T])
            self.tiles.output_tiles(M, b, relu, th, n0, n, TW, y)

    def backward(self, dout, input_grad: bool):
        """dout (N, F, OH, OW) -> (dx (N, C, H, W) HWNC or None, dW, db)."""
        if self.xp is None:
            raise RuntimeError("conv: backward needs a forward with train=True")
        N, F, OH, OW = dout.shape
        C = self.U.shape[1]
        H, Wd = OH + 2 - 2 * self.PH, OW + 2 - 2 * self.PW
        TH, TW = self._counts(OH, OW)
        m = self.tiles.TILE_OUT
        dy = dout.transpose(2, 3, 0, 1)  # (OH, OW, N, F)
        if (OH, OW) != (m * TH, m * TW) or not dy.flags.c_contiguous:
            # whole tiles (zeros beyond the output) in HWNC memory
            whole = self.scratch("grad_whole", (m * TH, m * TW, N, F), dout.dtype)
            whole[:OH, :OW] = dy
            dy = whole
        # a matrix-vector product (far faster than np.sum over three leading axes);
        # the zeros beyond the output add nothing
        db = np.ones(dy.size // F, dy.dtype) @ dy.reshape(-1, F)
        rows = TW * min(self.block, N)
        V = self._work("tiles", rows, C, dy.dtype)
        dM = self._work("grad_products", rows, F, dy.dtype)
        dU = np.zeros(self.U.shape, dy.dtype)
        dV = self._work("grad_tiles", rows, C, dy.dtype)
        dxp = self.scratch("grad_padded", self.xp.shape if input_grad else (0, 0, 0, C), dy.dtype)
        dxp.fill(0)
        gemm = self._gemm(dy.dtype)
        if gemm is not None:   # the whole layer in one compiled call
            one, zero = dy.dtype.type(1), dy.dtype.type(0)
            self.tiles.backward(self.xp, dy, self.U, TH, TW, min(self.block, N), V, dM, dV, dU, dxp,
                                one, zero, gemm)
        else:
            self._backward_blocks(dy, TH, TW, N, V, dM, dV, dU, dxp, input_grad)
        dW = self.tiles.weight_transform_adjoint(dU)
        if not input_grad:
            return None, dW, db
        dx = dxp[self.PH:self.PH + H, self.PW:self.PW + Wd]
        return np.ascontiguousarray(dx).transpose(2, 3, 0, 1), dW, db

    def _backward_blocks(self, dy, TH, TW, N, V, dM, dV, dU, dxp, input_grad):
        """The backward's blocks with NumPy's matmul between compiled calls (no gemm found)."""
        partial = np.empty_like(dU)
        Ut = np.ascontiguousarray(self.U.transpose(0, 2, 1))
        for th, n0, n in self._blocks(TH, N):
            T = TW * n
            self.tiles.input_tiles(self.xp, th, n0, n, TW, V)
            self.tiles.output_tiles_adjoint(dy, th, n0, n, TW, dM)
            dU += np.matmul(V[:, :T].transpose(0, 2, 1), dM[:, :T], out=partial)
            if input_grad:
                np.matmul(dM[:, :T], Ut, out=dV[:, :T])
                self.tiles.input_tiles_adjoint(dV, th, n0, n, TW, dxp)
