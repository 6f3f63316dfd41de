"""Runtime layers: max and average pooling, by tiles ("reshape", or compiled:
"numba-reshape", runtime/fast/pool.py) or by im2col.

Ties in max pooling share the gradient equally (both kernels agree, no argmax).
"""
from __future__ import annotations

import numpy as np

from netc.spec.kernels import pool_tiles

from .. import fast
from ..im2col import col2im_rows_add, im2col_rows, pad_chwn
from .base import Layer, LayerError, register


class _Pool(Layer):
    """(N, C, H, W) -> (N, C, OH, OW), one window per channel."""

    pad_value = 0.0
    kernels = ("reshape", "im2col", "numba-reshape")

    def __init__(self, step, dtype=np.float32, rng=None):
        super().__init__(step, dtype, rng)
        self.KH, self.KW = self.options["window"]
        self.SH, self.SW = self.options["stride"]
        self.PH, self.PW = self.options["pad"]
        tiles = pool_tiles(self.input_shape, self.options)
        self.kernel = step.get("kernel") or ("reshape" if tiles else "im2col")  # older plans: the compiler's rule
        if self.kernel.endswith("reshape") and not tiles:
            _, H, W = self.input_shape
            raise LayerError(f"{self.op}: the reshape kernel needs stride == window, "
                             f"no padding and a window dividing {H}x{W}")
        self._saved = None
        self._x_shape = None
        self._fast = fast.load("pool", self.kernel) if self.kernel == "numba-reshape" else None

    def _tiles(self, a):
        """The KH*KW strided views a[:, :, i::KH, j::KW]; element (i, j) of every tile.

        Reducing across these views elementwise is ~30x faster than reducing a
        6-D (N, C, OH, KH, OW, KW) reshape over two inner axes.
        """
        return [a[:, :, i::self.KH, j::self.KW] for i in range(self.KH) for j in range(self.KW)]

    def forward(self, x, train=False):
        self._x_shape = x.shape
        if self._fast is not None:
            return self._compiled_forward(x, train)
        if self.kernel == "reshape":
            return self._tiles_forward(x, train)
        N, C, H, W = x.shape
        _, OH, OW = self.output_shape
        xp = np.full((C, H + 2 * self.PH, W + 2 * self.PW, N), self.pad_value, self.dtype)
        pad_chwn(x, self.PH, self.PW, xp)
        cols = im2col_rows(xp, self.KH, self.KW, self.SH, self.SW, OH, OW, (0, OH),
                           out=self.buffer((C * self.KH * self.KW, OH * OW * N)))
        y = self._cols_forward(cols.reshape(C, self.KH * self.KW, -1), train)
        return y.reshape(C, OH, OW, N).transpose(3, 0, 1, 2)  # CHWN memory, NCHW view

    def backward(self, dout):
        if not self.input_grad:
            return None
        if self._fast is not None:
            return self._compiled_backward(dout)
        if self.kernel == "reshape":
            return self._tiles_backward(dout)
        N, C, H, W = self._x_shape
        _, OH, OW = self.output_shape
        d = dout.transpose(1, 2, 3, 0).reshape(C, 1, -1)  # (C, 1, OH*OW*N)
        dcols = self._cols_backward(d)  # (C, KH*KW, OH*OW*N), possibly a broadcast view
        dxp = np.zeros((C, H + 2 * self.PH, W + 2 * self.PW, N), self.dtype)
        col2im_rows_add(dcols, dxp, self.KH, self.KW, self.SH, self.SW, OW, (0, OH))
        return dxp[:, self.PH:self.PH + H, self.PW:self.PW + W].transpose(3, 0, 1, 2)

    def _need_saved(self):
        if self._saved is None:
            raise RuntimeError(f"{self.op}: backward needs a forward with train=True")
        return self._saved


@register
class MaxPool(_Pool):
    op = "maxpool"
    pad_value = -np.inf

    def __init__(self, step, dtype=np.float32, rng=None):
        super().__init__(step, dtype, rng)
        # relu fused from the step before (see compiler/kernels.py), applied to the pooled max
        self.relu = step.get("activation") == "relu"
        if self.relu and not self.kernel.endswith("reshape"):
            raise LayerError("maxpool: a fused activation needs the reshape kernel")

    def _tiles_forward(self, x, train):
        tiles = self._tiles(x)
        y = tiles[0].copy(order="K")  # keep the input's memory order
        for tile in tiles[1:]:
            np.maximum(y, tile, out=y)
        self._saved = (x, y) if train else None
        if self.relu:
            return np.maximum(y, 0, out=None if train else y)  # backward needs the max itself
        return y

    def _tiles_backward(self, dout):
        x, y = self._need_saved()
        dout = self.same_layout(dout, y)
        masks = [tile == y for tile in self._tiles(x)]
        count = masks[0].astype(self.dtype)
        for mask in masks[1:]:
            count += mask
        share = dout / count
        if self.relu:
            share *= y > 0
        dx = np.empty_like(x)
        for dx_tile, mask in zip(self._tiles(dx), masks):
            np.multiply(mask, share, out=dx_tile)
        return dx

    def _compiled_forward(self, x, train):
        N, C = x.shape[:2]
        _, OH, OW = self.output_shape
        xr = self._fast.hwr(x)
        y = np.empty((OH, OW, N * C), self.dtype)
        out = np.empty_like(y) if self.relu else y  # backward needs the max itself
        self._fast.max_forward(xr, self.KH, self.KW, self.relu, y, out)
        # kept as NCHW views, as the NumPy kernel keeps them (hwr() of them is free)
        self._saved = (x, self._fast.nchw(y, N, C)) if train else None
        return self._fast.nchw(out, N, C)

    def _compiled_backward(self, dout):
        x, y = self._need_saved()
        xr = self._fast.hwr(x)
        dx = np.empty_like(xr)
        self._fast.max_backward(xr, self._fast.hwr(y), self._fast.hwr(dout), self.KH, self.KW,
                                self.relu, dx)
        return self._fast.nchw(dx, *self._x_shape[:2])

    def _cols_forward(self, c3, train):
        y = c3.max(axis=1)
        if train:
            mask = c3 == y[:, None]
            self._saved = (mask, np.sum(mask, axis=1, keepdims=True, dtype=self.dtype))
        else:
            self._saved = None
        return y

    def _cols_backward(self, d):
        mask, count = self._need_saved()
        return mask * (d / count)


@register
class AvgPool(_Pool):
    op = "avgpool"
    pad_value = 0.0  # padded zeros count towards the mean

    def _tiles_forward(self, x, train):
        tiles = self._tiles(x)
        y = tiles[0].copy(order="K")
        for tile in tiles[1:]:
            y += tile
        y *= self.scalar(1.0 / (self.KH * self.KW))
        return y

    def _tiles_backward(self, dout):
        share = dout * self.scalar(1.0 / (self.KH * self.KW))
        dx = np.empty(self._x_shape, self.dtype)
        for dx_tile in self._tiles(dx):
            dx_tile[...] = share
        return dx

    def _compiled_forward(self, x, train):
        N, C = x.shape[:2]
        _, OH, OW = self.output_shape
        y = np.empty((OH, OW, N * C), self.dtype)
        self._fast.avg_forward(self._fast.hwr(x), self.KH, self.KW,
                               self.scalar(1.0 / (self.KH * self.KW)), y)
        return self._fast.nchw(y, N, C)

    def _compiled_backward(self, dout):
        N, C, H, W = self._x_shape
        dx = np.empty((H, W, N * C), self.dtype)
        self._fast.avg_backward(self._fast.hwr(dout), self.KH, self.KW,
                                self.scalar(1.0 / (self.KH * self.KW)), dx)
        return self._fast.nchw(dx, N, C)

    def _cols_forward(self, c3, train):
        self._saved = c3.shape
        return c3.mean(axis=1)

    def _cols_backward(self, d):
        return np.broadcast_to(d * self.scalar(1.0 / (self.KH * self.KW)), self._saved)
