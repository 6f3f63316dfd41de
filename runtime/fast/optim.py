"""Compiled optimizer updates (Numba): Adam in one pass over each parameter.

NumPy's Adam (runtime/optimizers.py) makes eleven passes over a parameter's
size, and the update runs once per step outside the batch lanes, on one core.
This is the same arithmetic, value by value, in the same order and precision
(the caller passes the scalars in the parameters' dtype, as NumPy casts them),
so both give the same parameters bit for bit.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def adam(p, g, m, v, beta1, beta2, one_minus_beta1, one_minus_beta2, v_hat_scale, eps, step_size):
    """One Adam step on flat p, g, m, v, in place:
    m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
    p -= step_size * m / (sqrt(v) * v_hat_scale + eps)."""
    for i in range(p.shape[0]):
        mi = m[i] * beta1 + g[i] * one_minus_beta1
        vi = v[i] * beta2 + g[i] * g[i] * one_minus_beta2
        m[i] = mi
        v[i] = vi
        p[i] -= mi / (math.sqrt(vi) * v_hat_scale + eps) * step_size


def warm_calls(dtype):
    """adam with tiny arguments of dtype, typed as Adam calls it (warmup.py)."""
    a, s = np.zeros(1, dtype), np.dtype(dtype).type(0.5)
    return [], [(adam, (a, a, a, a, s, s, s, s, s, s, s))]
