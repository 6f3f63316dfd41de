"""Runtime initialisation: fill a freshly built layer's W (and b) from the plan.

Draws are made in float64 and cast, so float32 and float64 networks built from
the same seed start from the same weights.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np


def _fans(W_shape: tuple[int, ...]) -> tuple[int, int]:
    """(n_in, n_out): conv W (F, C, KH, KW) -> (C*KH*KW, F*KH*KW); affine (D_in, units)."""
    if len(W_shape) == 4:
        F, C, KH, KW = W_shape
        return C * KH * KW, F * KH * KW
    D_in, units = W_shape
    return D_in, units


def _std(spec, shape, n_in, n_out, rng):
    return rng.standard_normal(shape) * float(spec["std"])


def _xavier(spec, shape, n_in, n_out, rng):
    return rng.standard_normal(shape) * math.sqrt(1.0 / n_in)  # the book's Xavier


def _xavier_uniform(spec, shape, n_in, n_out, rng):
    limit = math.sqrt(6.0 / (n_in + n_out))  # Glorot & Bengio 2010
    return rng.uniform(-limit, limit, shape)


def _he(spec, shape, n_in, n_out, rng):
    return rng.standard_normal(shape) * math.sqrt(2.0 / n_in)


# each: (spec, shape, n_in, n_out, rng) -> float64 array of `shape`. The keys
# are the names spec/netc.schema.json allows ($defs.init); tests/test_init.py
# holds the two equal, so the compiler never accepts a name the runtime lacks.
INITIALISERS: dict[str, Callable] = {
    "std": _std,
    "xavier": _xavier,
    "xavier_uniform": _xavier_uniform,
    "he": _he,
}


def sample_weights(init_spec: dict, shape, rng: np.random.Generator) -> np.ndarray:
    """Draw a float64 weight array of `shape` from an initialiser spec {type, ...}."""
    kind = init_spec.get("type")
    if kind not in INITIALISERS:
        raise ValueError(f"unknown initialiser {kind!r}; known: {', '.join(sorted(INITIALISERS))}")
    n_in, n_out = _fans(tuple(shape))
    return INITIALISERS[kind](init_spec, tuple(shape), n_in, n_out, rng)


def initialise(layer, step: dict, init_spec: dict | None, rng: np.random.Generator) -> None:
    """Set layer.params in place: literal values win, then step init, then network init."""
    literal = step.get("literal") or {}
    if "W" in layer.params and "W" not in literal:
        spec = step.get("init") or init_spec
        if spec is None:   # the compiler always writes one; its default is the planner's
            raise ValueError(f"step {step.get('index')} ({layer.op}) has weights but no initialiser")
        layer.params["W"][...] = sample_weights(spec, layer.params["W"].shape, rng)
    if "b" in layer.params:
        layer.params["b"].fill(0)
    for name, value in literal.items():
        if name not in layer.params:
            raise ValueError(f"literal {name!r} is not a parameter of {layer.op}")
        layer.params[name][...] = np.asarray(value, dtype=layer.dtype)
