"""Runtime layers: 2-D convolution as im2col + one matmul (NCHW in and out)."""
from __future__ import annotations

import numpy as np

from ..im2col import col2im, im2col
from .base import Layer


class Conv(Layer):
    """(N, C, H, W) -> (N, F, OH, OW); W is (F, C, KH, KW), b is (F,)."""

    op = "conv"

    def __init__(self, step, dtype=np.float32, rng=None):
        super().__init__(step, dtype, rng)
        self.KH, self.KW = self.options["kernel"]
        self.SH, self.SW = self.options["stride"]
        self.PH, self.PW = self.options["pad"]
        self._cols = None
        self._x_shape = None

    def forward(self, x, train=False):
        N = x.shape[0]
        F, OH, OW = self.output_shape
        C = self.input_shape[0]
        out = self.buffer((C * self.KH * self.KW, N * OH * OW))
        cols = im2col(x, self.KH, self.KW, self.SH, self.SW, self.PH, self.PW, out=out)
        self._cols, self._x_shape = cols, x.shape
        y = self.params["W"].reshape(F, -1) @ cols  # (F, N*OH*OW)
        y += self.params["b"][:, None]
        # An NCHW view of channel-major memory; the next im2col reads it as is.
        return y.reshape(F, N, OH, OW).transpose(1, 0, 2, 3)

    def backward(self, dout):
        F = self.output_shape[0]
        d = dout.transpose(1, 0, 2, 3).reshape(F, -1)  # free when dout is channel-major
        np.matmul(d, self._cols.T, out=self.grads["W"].reshape(F, -1))
        np.sum(d, axis=1, out=self.grads["b"])
        if not self.input_grad:
            return None
        dcols = self.params["W"].reshape(F, -1).T @ d
        return col2im(dcols, self._x_shape, self.KH, self.KW, self.SH, self.SW,
                      self.PH, self.PW)
