"""Runtime layers: the joins of a graph, add and concat. forward takes the
list of input arrays; backward returns one gradient per input."""
from __future__ import annotations

import numpy as np

from .base import Layer, register


@register
class Add(Layer):
    """[(N, *shape)] * k -> (N, *shape): the element-wise sum."""

    op = "add"

    def forward(self, xs, train=False):
        y = xs[0] + xs[1]
        for x in xs[2:]:
            y += x
        return y

    def backward(self, dout):
        # each input gets the whole gradient; readers never change it in place
        return [dout] * len(self.step["input_shapes"])


@register
class Concat(Layer):
    """[(N, C_i, H, W)] -> (N, sum C_i, H, W), or [(N, D_i)] -> (N, sum D_i)."""

    op = "concat"

    def __init__(self, step, dtype=np.float32, rng=None):
        super().__init__(step, dtype, rng)
        self._edges = np.cumsum([shape[0] for shape in step["input_shapes"]])[:-1]

    def forward(self, xs, train=False):
        return np.concatenate(xs, axis=1)

    def backward(self, dout):
        return np.split(dout, self._edges, axis=1)
