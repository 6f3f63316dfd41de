"""Runtime gradient check: analytic backprop vs central differences, in float64.

relative error = |a - n| / max(|a| + |n|, FLOOR), FLOOR = 1e-4: a true relative
error where gradients are sizeable; near zero it becomes |a - n| / 1e-4. A
difference quotient of an O(1) float64 loss with eps 1e-6 carries ~1e-10 of
rounding noise, which must not look like a failure on the 1e-6 gradients that
small initial weights give (SimpleConvNet's affine layer has such).
"""
from __future__ import annotations

import numpy as np

from .network import Network

FLOOR = 1e-4


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    """Elementwise |a - n| / max(|a| + |n|, FLOOR)."""
    return np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), FLOOR)


def _chosen_elements(size: int, max_elements: int, rng: np.random.Generator) -> np.ndarray:
    """Every flat index for a small array, else a seeded sample without repeats."""
    if size <= max_elements:
        return np.arange(size)
    return np.sort(rng.choice(size, max_elements, replace=False))


def gradient_check(plan: dict, x: np.ndarray, t: np.ndarray, seed: int = 0,
                   eps: float = 1e-6, max_elements: int = 50) -> dict[str, float]:
    """Worst relative error per parameter name ("0.conv.W", ...) for one batch."""
    net = Network(plan, seed=seed, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64) if np.asarray(x).dtype != np.uint8 else x
    # Dropout draws its mask from net.rng during forward. Rewinding the rng to
    # the same state before every forward makes each evaluation use the same
    # mask, so the loss is one fixed, differentiable function of the params.
    rng_state = net.rng.bit_generator.state

    def loss() -> float:
        net.rng.bit_generator.state = rng_state
        return net.loss(x, t, train=True)

    net.rng.bit_generator.state = rng_state
    analytic = {name: g.copy() for name, g in net.gradient(x, t).items()}
    sampler = np.random.default_rng(seed)
    worst: dict[str, float] = {}
    for name, p in net.params.items():
        flat = p.reshape(-1)  # a view: writing to it perturbs the live parameter
        errors = []
        for i in _chosen_elements(flat.size, max_elements, sampler):
            original = flat[i]
            flat[i] = original + eps
            plus = loss()
            flat[i] = original - eps
            minus = loss()
            flat[i] = original
            numeric = (plus - minus) / (2 * eps)
            errors.append(relative_error(analytic[name].reshape(-1)[i], numeric))
        worst[name] = float(max(errors)) if errors else 0.0
    return worst
