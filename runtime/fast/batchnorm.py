"""Compiled kernels (Numba): batch normalisation of an image batch, channels last.

The (rows, C) matrix of runtime/layers/normalization.py's `channels` kernel
(rows = N*H*W, free for a conv's HWNC output). Training takes three passes
forward (the mean, the variance around it, the normalised output) and two
backward, where the NumPy kernel makes about ten; sums are kept in float64,
so the statistics of a large batch lose nothing to float32 rounding.
"""
from __future__ import annotations

import numpy as np
from numba import njit

# nogil: batch norm's inference runs in several lanes at once. No fastmath.
_jit = njit(cache=True, nogil=True, error_model="numpy")


@_jit
def statistics(X, mean, var):
    """Per-column mean and (biased) variance of X (rows, C), in float64."""
    rows, C = X.shape
    acc = np.zeros(C, np.float64)
    for r in range(rows):
        x = X[r]
        for c in range(C):
            acc[c] += x[c]
    for c in range(C):
        mean[c] = acc[c] / rows
        acc[c] = 0.0
    for r in range(rows):
        x = X[r]
        for c in range(C):
            d = x[c] - mean[c]
            acc[c] += d * d
    for c in range(C):
        var[c] = acc[c] / rows


@_jit
def normalize(X, shift, scale, gamma, beta, xhat, y):
    """xhat = (X - shift) * scale and y = xhat * gamma + beta, per column."""
    rows, C = X.shape
    for r in range(rows):
        x, h, out = X[r], xhat[r], y[r]
        for c in range(C):
            v = (x[c] - shift[c]) * scale[c]
            h[c] = v
            out[c] = v * gamma[c] + beta[c]


@_jit
def scale_shift(X, scale, shift, y):
    """y = X * scale + shift, per column (inference, running statistics folded in)."""
    rows, C = X.shape
    for r in range(rows):
        x, out = X[r], y[r]
        for c in range(C):
            out[c] = x[c] * scale[c] + shift[c]


@_jit
def parameter_gradients(D, xhat, dgamma, dbeta):
    """dbeta = column sums of D, dgamma = column sums of D * xhat (float64 sums)."""
    rows, C = D.shape
    sum_d = np.zeros(C, np.float64)
    sum_dx = np.zeros(C, np.float64)
    for r in range(rows):
        d, h = D[r], xhat[r]
        for c in range(C):
            sum_d[c] += d[c]
            sum_dx[c] += d[c] * h[c]
    for c in range(C):
        dbeta[c] = sum_d[c]
        dgamma[c] = sum_dx[c]


@_jit
def input_gradient(D, xhat, dgamma_mean, dbeta_mean, gain, dx):
    """dx = gain * (D - dbeta_mean - xhat * dgamma_mean), per column: gain is
    gamma / std, the means are the parameter gradients over the row count."""
    rows, C = D.shape
    for r in range(rows):
        d, h, out = D[r], xhat[r], dx[r]
        for c in range(C):
            out[c] = (d[c] - (h[c] * dgamma_mean[c] + dbeta_mean[c])) * gain[c]


def warm_calls(dtype):
    """This module's kernels with tiny arguments of dtype, typed as the layer calls them:
    (the forward's, the backward's) lists of (kernel, args); see warmup.py."""
    X, v = np.zeros((1, 1), dtype), np.zeros(1, dtype)
    return ([(statistics, (X, v, v)), (normalize, (X, v, v, v, v, X, X)), (scale_shift, (X, v, v, X))],
            [(parameter_gradients, (X, X, v, v)), (input_gradient, (X, X, v, v, v, X))])
