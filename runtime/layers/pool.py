"""Runtime layers: max and average pooling, by reshape or by im2col.

Ties in max pooling share the gradient equally (both kernels agree, no argmax).
"""
from __future__ import annotations

import numpy as np

from ..im2col import col2im, im2col
from .base import Layer, LayerError


class _Pool(Layer):
    """(N, C, H, W) -> (N, C, OH, OW), one window per channel."""

    pad_value = 0.0

    def __init__(self, step, dtype=np.float32, rng=None):
        super().__init__(step, dtype, rng)
        self.KH, self.KW = self.options["window"]
        self.SH, self.SW = self.options["stride"]
        self.PH, self.PW = self.options["pad"]
        _, H, W = self.input_shape
        tiles = ((self.KH, self.KW) == (self.SH, self.SW) and self.PH == self.PW == 0
                 and H % self.KH == 0 and W % self.KW == 0)
        self.kernel = step.get("kernel") or ("reshape" if tiles else "im2col")
        if self.kernel not in ("reshape", "im2col"):
            raise LayerError(f"{self.op}: unknown kernel {self.kernel!r}")
        if self.kernel == "reshape" and not tiles:
            raise LayerError(f"{self.op}: the reshape kernel needs stride == window, "
                             f"no padding and a window dividing {H}x{W}")
        self._saved = None
        self._x_shape = None

    def forward(self, x, train=False):
        self._x_shape = x.shape
        N, C, H, W = x.shape
        _, OH, OW = self.output_shape
        if self.kernel == "reshape":
            # Tiles (N, C, OH, KH, OW, KW) pooled over axes 3 and 5; a view for
            # contiguous and channel-major inputs alike.
            y, saved = self._pool(x.reshape(N, C, OH, self.KH, OW, self.KW), (3, 5), train)
            self._saved = saved
            return y
        cols = im2col(x, self.KH, self.KW, self.SH, self.SW, self.PH, self.PW,
                      pad_value=self.pad_value,
                      out=self.buffer((C * self.KH * self.KW, N * OH * OW)))
        y, self._saved = self._pool(cols.reshape(C, self.KH * self.KW, -1), (1,), train)
        return y.reshape(C, N, OH, OW).transpose(1, 0, 2, 3)

    def backward(self, dout):
        if not self.input_grad:
            return None
        N, C, H, W = self._x_shape
        if self.kernel == "reshape":
            return self._unpool(dout[:, :, :, None, :, None]).reshape(N, C, H, W)
        d = dout.transpose(1, 0, 2, 3).reshape(C, 1, -1)
        dcols = self._unpool(d)  # (C, KH*KW, N*OH*OW); col2im splits it as a view
        return col2im(dcols, self._x_shape, self.KH, self.KW, self.SH, self.SW,
                      self.PH, self.PW)


class MaxPool(_Pool):
    op = "maxpool"
    pad_value = -np.inf

    def _pool(self, windows, axes, train):
        """Max over `axes`; keeps the max mask and the tie counts for backward."""
        y = windows.max(axis=axes)
        if not train:
            return y, None
        y_kept = np.expand_dims(y, axes)
        mask = windows == y_kept
        count = np.sum(mask, axis=axes, keepdims=True, dtype=self.dtype)
        return y, (mask, count)

    def _unpool(self, d):
        """d broadcast against the window axes -> gradient per window element."""
        if self._saved is None:
            raise RuntimeError("maxpool: backward needs a forward with train=True")
        mask, count = self._saved
        return mask * (d / count)


class AvgPool(_Pool):
    op = "avgpool"
    pad_value = 0.0  # padded zeros count towards the mean

    def _pool(self, windows, axes, train):
        return windows.mean(axis=axes), windows.shape

    def _unpool(self, d):
        shape = self._saved
        return np.broadcast_to(d * self.scalar(1.0 / (self.KH * self.KW)), shape)
