"""Runtime layers: the registry from a plan step's `op` word to its layer class."""
from __future__ import annotations

import numpy as np

from .activations import Elu, LeakyRelu, Prelu, Relu, Sigmoid, Step, StepNotTrainableError, Tanh
from .affine import Affine, Flatten
from .base import Fused, Layer, LayerError, NotTrainableError
from .conv import Conv
from .dropout import Dropout
from .normalization import BatchNorm
from .output import Identity, Softmax
from .pool import AvgPool, MaxPool

LAYERS: dict[str, type[Layer]] = {}


def register(cls: type[Layer]) -> type[Layer]:
    """Add a layer class under its `op` word; a word can be taken only once."""
    if not cls.op:
        raise LayerError(f"{cls.__name__} has no op word")
    if cls.op in LAYERS:
        raise LayerError(f"op {cls.op!r} is already registered by {LAYERS[cls.op].__name__}")
    LAYERS[cls.op] = cls
    return cls


for _cls in (Conv, MaxPool, AvgPool, Affine, Flatten, Relu, Sigmoid, Tanh, Step,
             LeakyRelu, Prelu, Elu, BatchNorm, Dropout, Softmax, Identity):
    register(_cls)


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
