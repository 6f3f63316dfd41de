"""Runtime layers: the registry from a plan step's `op` word to its layer class.
Each layer module registers its classes (`@register`); importing them here fills LAYERS."""
from __future__ import annotations

import numpy as np

from . import activations, affine, conv, dropout, join, normalization, output, pool  # noqa: F401
from .activations import StepNotTrainableError
from .base import LAYERS, Fused, Layer, LayerError, NotTrainableError, register


def build_layer(step: dict, dtype=np.float32, rng: np.random.Generator | None = None) -> Layer:
    """Build the layer for one plan step; unknown ops list the known ones."""
    op = step.get("op")
    if step.get("kernel") == "fused":
        return Fused(step, dtype, rng)
    if op not in LAYERS:
        known = ", ".join(sorted(LAYERS))
        raise LayerError(f"unknown layer op {op!r}; known ops: {known}")
    return LAYERS[op](step, dtype, rng)


__all__ = ["LAYERS", "Layer", "LayerError", "NotTrainableError", "StepNotTrainableError",
           "build_layer", "register"]
