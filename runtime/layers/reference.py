"""Runtime layers: the book-level reference kernels of the ops that also have
fast ones (conv, max and average pooling). Plain NumPy in NCHW, im2col as the
book teaches it, forward beside backward; every fast kernel is tested against
these, and `--kernels reference` runs a whole model on them.
"""
from __future__ import annotations

import numpy as np

from .base import Layer, register_kernel


def im2col(x, KH, KW, SH, SW, PH, PW, fill=0.0):
    """(N, C, H, W) -> (N*OH*OW, C*KH*KW): one row per output position, holding
    the window it sees; rows ordered (n, oh, ow), columns (c, kh, kw)."""
    N, C, H, W = x.shape
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    padded = np.pad(x, [(0, 0), (0, 0), (PH, PH), (PW, PW)], constant_values=fill)
    windows = np.empty((N, C, KH, KW, OH, OW), x.dtype)
    for i in range(KH):
        for j in range(KW):
            windows[:, :, i, j] = padded[:, :, i:i + SH * OH:SH, j:j + SW * OW:SW]
    return windows.transpose(0, 4, 5, 1, 2, 3).reshape(N * OH * OW, -1)


def col2im(cols, x_shape, KH, KW, SH, SW, PH, PW):
    """The adjoint of im2col: each row's values added back where they came from."""
    N, C, H, W = x_shape
    OH, OW = (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1
    windows = cols.reshape(N, OH, OW, C, KH, KW).transpose(0, 3, 4, 5, 1, 2)
    padded = np.zeros((N, C, H + 2 * PH, W + 2 * PW), cols.dtype)
    for i in range(KH):
        for j in range(KW):
            padded[:, :, i:i + SH * OH:SH, j:j + SW * OW:SW] += windows[:, :, i, j]
    return padded[:, :, PH:PH + H, PW:PW + W]


@register_kernel("conv", "reference")
class Convolution(Layer):
    """(N, C, H, W) -> (N, F, OH, OW): im2col, then one matrix product."""

    op = "conv"

    def forward(self, x, train=False):
        F, C, KH, KW = self.params["W"].shape
        (SH, SW), (PH, PW) = self.options["stride"], self.options["pad"]
        N = x.shape[0]
        _, OH, OW = self.output_shape
        cols = im2col(x, KH, KW, SH, SW, PH, PW)
        W_cols = self.params["W"].reshape(F, -1).T
        y = cols @ W_cols + self.params["b"]
        self._x_shape, self._cols = x.shape, cols
        return y.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)

    def backward(self, dout):
        F, C, KH, KW = self.params["W"].shape
        (SH, SW), (PH, PW) = self.options["stride"], self.options["pad"]
        dy = dout.transpose(0, 2, 3, 1).reshape(-1, F)
        self.grads["b"][...] = dy.sum(axis=0)
        self.grads["W"][...] = (self._cols.T @ dy).T.reshape(F, C, KH, KW)
        if not self.input_grad:
            return None
        dcols = dy @ self.params["W"].reshape(F, -1)
        return col2im(dcols, self._x_shape, KH, KW, SH, SW, PH, PW)


class _Pooling(Layer):
    """(N, C, H, W) -> (N, C, OH, OW): im2col with one window per row and channel."""

    fill = 0.0

    def _windows(self, x):
        (KH, KW), (SH, SW), (PH, PW) = self.options["window"], self.options["stride"], self.options["pad"]
        N, C = x.shape[:2]
        cols = im2col(x, KH, KW, SH, SW, PH, PW, self.fill)
        return cols.reshape(-1, C, KH * KW)    # (N*OH*OW, C, KH*KW)

    def _shape_back(self, y, N):
        C, OH, OW = self.output_shape
        return y.reshape(N, OH, OW, C).transpose(0, 3, 1, 2)

    def backward(self, dout):
        if not self.input_grad:
            return None
        (KH, KW), (SH, SW), (PH, PW) = self.options["window"], self.options["stride"], self.options["pad"]
        C = self.output_shape[0]
        d = dout.transpose(0, 2, 3, 1).reshape(-1, C, 1)
        dcols = self._window_grad(d).reshape(-1, C * KH * KW)
        return col2im(dcols, self._x_shape, KH, KW, SH, SW, PH, PW)


@register_kernel("maxpool", "reference")
class MaxPooling(_Pooling):
    """The maximum of each window; tied maxima share its gradient equally."""

    op = "maxpool"
    fill = -np.inf

    def forward(self, x, train=False):
        windows = self._windows(x)
        y = windows.max(axis=2)
        ties = windows == y[:, :, None]
        self._x_shape, self._share = x.shape, (ties / ties.sum(axis=2, keepdims=True)).astype(x.dtype)
        return self._shape_back(y, x.shape[0])

    def _window_grad(self, d):
        return self._share * d


@register_kernel("avgpool", "reference")
class AvgPooling(_Pooling):
    """The mean of each window, padded zeros included."""

    op = "avgpool"

    def forward(self, x, train=False):
        windows = self._windows(x)
        self._x_shape, self._size = x.shape, windows.shape[2]
        return self._shape_back(windows.mean(axis=2), x.shape[0])

    def _window_grad(self, d):
        return np.broadcast_to(d / self._size, d.shape[:2] + (self._size,))
