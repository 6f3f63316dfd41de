"""Runtime layers: the output layers, softmax (classification) and identity."""
from __future__ import annotations

import numpy as np

from .base import Layer, register


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the last axis; subtracting the max avoids overflow."""
    y = x - x.max(axis=-1, keepdims=True)
    np.exp(y, out=y)
    y /= y.sum(axis=-1, keepdims=True)
    return y


@register
class Softmax(Layer):
    """(N, K) -> (N, K) probabilities. Training fuses it into the loss instead."""

    op = "softmax"

    def forward(self, x, train=False):
        y = softmax(x)
        self._y = y if train else None
        return y

    def backward(self, dout):
        if not self.input_grad:
            return None
        y = self._y
        # Jacobian-vector product: dx = y * (dout - sum(dout * y))
        return y * (dout - np.sum(dout * y, axis=-1, keepdims=True))


@register
class Identity(Layer):
    """(N, *shape) -> (N, *shape), unchanged (the regression output)."""

    op = "identity"

    def forward(self, x, train=False):
        return x

    def backward(self, dout):
        return dout if self.input_grad else None
