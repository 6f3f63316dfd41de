"""Gradient clipping: an optimizer wrapper that clips the batch's gradients
before every update, to a global L2 norm or value by value."""
from __future__ import annotations

import math

import numpy as np


class ClippedOptimizer:
    """Clips, then hands the gradients to `optimizer`; everything else (lr,
    state, checkpoints) is the wrapped optimizer's. The gradients are the
    network's own buffers, rewritten by the next backward, so they are
    clipped in place."""

    def __init__(self, optimizer, norm: float | None = None, value: float | None = None):
        self.optimizer, self.norm, self.value = optimizer, norm, value

    def update(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        if self.norm is not None:
            # The norm of all gradients as one vector (PyTorch's clip_grad_norm_).
            total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
            if total > self.norm:
                for g in grads.values():
                    g *= g.dtype.type(self.norm / total)
        if self.value is not None:
            for g in grads.values():
                np.clip(g, -self.value, self.value, out=g)
        self.optimizer.update(params, grads)

    def __getattr__(self, name):
        return getattr(self.optimizer, name)
