"""Runtime layers: the elementwise activations, one small class each.

_forward returns (y, what backward needs); it is kept only when train=True.
"""
from __future__ import annotations

import numpy as np

from .base import Layer, NotTrainableError, register


class StepNotTrainableError(NotTrainableError):
    """The step function has zero gradient almost everywhere."""


class _Elementwise(Layer):
    """(N, *shape) -> (N, *shape)."""

    def forward(self, x, train=False):
        y, saved = self._forward(x)
        self._saved = saved if train else None
        return y

    def backward(self, dout):
        if not self.input_grad:
            return None
        if self._saved is None:
            raise RuntimeError(f"{self.op}: backward needs a forward with train=True")
        kept = self._saved[0] if isinstance(self._saved, tuple) else self._saved
        return self._backward(self.same_layout(dout, kept), self._saved)


@register
class Relu(_Elementwise):
    op = "relu"

    def _forward(self, x):
        mask = x > 0
        return x * mask, mask  # x * mask keeps the dtype; maximum(x, 0) is no faster

    def _backward(self, dout, mask):
        return dout * mask


@register
class Sigmoid(_Elementwise):
    op = "sigmoid"

    def _forward(self, x):
        # 0.5 * (1 + tanh(x / 2)) equals 1 / (1 + exp(-x)) without exp overflow.
        y = x * self.scalar(0.5)
        np.tanh(y, out=y)
        y += 1
        y *= self.scalar(0.5)
        return y, y

    def _backward(self, dout, y):
        return dout * y * (1 - y)


@register
class Tanh(_Elementwise):
    op = "tanh"

    def _forward(self, x):
        y = np.tanh(x)
        return y, y

    def _backward(self, dout, y):
        return dout * (1 - y * y)


@register
class Step(_Elementwise):
    op = "step"

    def _forward(self, x):
        return (x > 0).astype(self.dtype), None

    def backward(self, dout):
        raise StepNotTrainableError(
            "step cannot be trained: its gradient is zero almost everywhere; "
            "use sigmoid or relu in a network you want to train")


@register
class LeakyRelu(_Elementwise):
    op = "leaky_relu"

    def _forward(self, x):
        slope = np.where(x > 0, self.scalar(1), self.scalar(self.options["alpha"]))
        return x * slope, slope

    def _backward(self, dout, slope):
        return dout * slope


@register
class Elu(_Elementwise):
    op = "elu"

    def _forward(self, x):
        alpha = self.scalar(self.options["alpha"])
        neg = alpha * np.expm1(np.minimum(x, 0))  # expm1 of <= 0 never overflows
        positive = x > 0
        y = np.where(positive, x, neg)
        return y, (positive, neg)

    def _backward(self, dout, saved):
        positive, neg = saved
        # d/dx alpha*(e^x - 1) = alpha*e^x = y + alpha for x <= 0
        return dout * np.where(positive, self.scalar(1), neg + self.scalar(self.options["alpha"]))


@register
class Prelu(_Elementwise):
    """(N, C, H, W) with alpha (C,), or (N, D) with alpha (D,): learned slopes."""

    op = "prelu"

    def __init__(self, step, dtype=np.float32, rng=None):
        super().__init__(step, dtype, rng)
        self.params["alpha"].fill(self.options.get("init", 0.25))
        # alpha broadcasts over the axes after the channel one
        self._alpha_shape = (-1,) + (1,) * (len(self.input_shape) - 1)
        self._sum_axes = (0,) + tuple(range(2, len(self.input_shape) + 1))

    def _forward(self, x):
        alpha = self.params["alpha"].reshape(self._alpha_shape)
        positive = x > 0
        return np.where(positive, x, alpha * x), (x, positive)

    def backward(self, dout):
        # alpha is a parameter: its gradient is needed even when dx is not.
        if self._saved is None:
            raise RuntimeError("prelu: backward needs a forward with train=True")
        x, positive = self._saved
        negative_part = np.where(positive, 0, dout * x)
        np.sum(negative_part, axis=self._sum_axes, out=self.grads["alpha"])
        if not self.input_grad:
            return None
        alpha = self.params["alpha"].reshape(self._alpha_shape)
        return np.where(positive, dout, dout * alpha)
