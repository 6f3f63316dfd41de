"""Runtime layers: fully connected (affine) and flatten."""
from __future__ import annotations

import numpy as np

from .base import Layer, register


@register
class Affine(Layer):
    """(N, *in) -> (N, units); 3-D input is flattened in C, H, W order."""

    op = "affine"

    def forward(self, x, train=False):
        x2 = x.reshape(x.shape[0], -1)  # copies only for a non-contiguous image
        self._x2, self._x_shape = x2, x.shape
        y = x2 @ self.params["W"]
        y += self.params["b"]
        return y

    def backward(self, dout):
        np.matmul(self._x2.T, dout, out=self.grads["W"])
        np.sum(dout, axis=0, out=self.grads["b"])
        if not self.input_grad:
            return None
        return (dout @ self.params["W"].T).reshape(self._x_shape)


@register
class Flatten(Layer):
    """(N, *in) -> (N, prod(in))."""

    op = "flatten"

    def forward(self, x, train=False):
        self._x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        if not self.input_grad:
            return None
        return dout.reshape(self._x_shape)
