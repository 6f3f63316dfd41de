"""Runtime layers: dropout, in the book's form or inverted.

book (inverted=false): train keeps each unit with prob 1-ratio, unscaled;
inference multiplies by (1-ratio). inverted=true: train scales kept units by
1/(1-ratio); inference is the identity. Both have the same expected output.
"""
from __future__ import annotations

import numpy as np

from .base import Layer, register


@register
class Dropout(Layer):
    """(N, *shape) -> (N, *shape); masks come from the network's Generator."""

    op = "dropout"

    def __init__(self, step, dtype=np.float32, rng=None):
        super().__init__(step, dtype, rng)
        self.ratio = float(self.options["ratio"])
        self.inverted = bool(self.options.get("inverted", False))
        keep = 1.0 - self.ratio
        self.train_scale = self.scalar(1.0 / keep if self.inverted and keep > 0 else 1.0)
        self.eval_scale = self.scalar(1.0 if self.inverted else keep)

    random = True
    preset_mask = None  # set by the network when it splits a batch into lanes

    def draw_mask(self, shape):
        """A training mask of `shape` from the Generator, the scale folded in."""
        if self.rng is None:
            raise RuntimeError("dropout: training needs a numpy.random.Generator")
        keep = self.rng.random(shape, dtype=self.dtype) > self.dtype.type(self.ratio)
        return keep * self.train_scale if self.inverted else keep

    def forward(self, x, train=False):
        if not train:
            self._mask = None
            return x if self.eval_scale == 1 else x * self.eval_scale
        if self.preset_mask is not None:
            self._mask, self.preset_mask = self.preset_mask, None
        else:
            self._mask = self.draw_mask(x.shape)
        return x * self._mask

    def backward(self, dout):
        if not self.input_grad:
            return None
        if self._mask is None:
            return dout * self.eval_scale
        return dout * self._mask
