"""Compiled kernels (Numba): max and average pooling over windows that tile the input.

HWNC memory, viewed as (H, W, R) with R = N*C contiguous floats per pixel; each
kernel is one pass. Same operations in the same order as the NumPy reshape
kernel in runtime/layers/pool.py, so the results match it bit for bit, NaN
included (np.maximum propagates NaN; so does _max).
"""
from __future__ import annotations

import numpy as np
from numba import njit

# nogil: the batch lanes run these side by side. No fastmath, and numpy's error
# model (x / 0 is inf or NaN, not ZeroDivisionError): NaN must propagate.
_jit = njit(cache=True, nogil=True, error_model="numpy")


@njit(cache=True, nogil=True, error_model="numpy", inline="always")  # see spacing.py
def _max(m, v):
    """np.maximum: NaN if either is NaN."""
    return v if v > m or v != v else m


@_jit
def max_forward(x, KH, KW, relu, y, out):
    """x (H, W, R) -> y (OH, OW, R), each window's max; out = relu(y) when relu (else unused)."""
    OH, OW, R = y.shape
    zero = np.zeros(1, x.dtype)[0]
    for oh in range(OH):
        for ow in range(OW):
            h, w = oh * KH, ow * KW
            for r in range(R):
                y[oh, ow, r] = x[h, w, r]
            for i in range(KH):
                for j in range(KW):
                    if i or j:
                        for r in range(R):
                            y[oh, ow, r] = _max(y[oh, ow, r], x[h + i, w + j, r])
            if relu:
                for r in range(R):
                    out[oh, ow, r] = _max(y[oh, ow, r], zero)


@_jit
def max_backward(x, y, dout, KH, KW, relu, dx):
    """The gradient of max_forward: ties share a window's gradient equally; with relu a
    window whose max is <= 0 gets none. Written as the NumPy kernel's products
    (mask * share), so a NaN in dout or x spreads exactly as it does there."""
    OH, OW, R = y.shape
    one = np.ones(1, x.dtype)[0]
    zero = one - one
    share = np.empty(R, x.dtype)  # one output pixel's, every channel and image: runs of R
    for oh in range(OH):
        for ow in range(OW):
            h, w = oh * KH, ow * KW
            for r in range(R):
                share[r] = zero
            for i in range(KH):
                for j in range(KW):
                    for r in range(R):
                        share[r] += one if x[h + i, w + j, r] == y[oh, ow, r] else zero
            for r in range(R):
                share[r] = dout[oh, ow, r] / share[r]  # the count of maxima, then the share
            if relu:
                for r in range(R):
                    share[r] *= one if y[oh, ow, r] > 0 else zero
            for i in range(KH):
                for j in range(KW):
                    for r in range(R):
                        dx[h + i, w + j, r] = (one if x[h + i, w + j, r] == y[oh, ow, r] else zero) * share[r]


@_jit
def avg_forward(x, KH, KW, scale, y):
    """x (H, W, R) -> y (OH, OW, R), each window's sum times scale (1 / (KH*KW))."""
    OH, OW, R = y.shape
    for oh in range(OH):
        for ow in range(OW):
            h, w = oh * KH, ow * KW
            for r in range(R):
                y[oh, ow, r] = x[h, w, r]
            for i in range(KH):
                for j in range(KW):
                    if i or j:
                        for r in range(R):
                            y[oh, ow, r] += x[h + i, w + j, r]
            for r in range(R):
                y[oh, ow, r] *= scale


@_jit
def avg_backward(dout, KH, KW, scale, dx):
    """The gradient of avg_forward: dout * scale to every position of its window."""
    OH, OW, R = dout.shape
    for oh in range(OH):
        for ow in range(OW):
            h, w = oh * KH, ow * KW
            for i in range(KH):
                for j in range(KW):
                    for r in range(R):
                        dx[h + i, w + j, r] = dout[oh, ow, r] * scale


def hwr(a: np.ndarray) -> np.ndarray:
    """An (N, C, H, W)-shaped array as contiguous (H, W, N*C) memory (a copy unless HWNC)."""
    N, C, H, W = a.shape
    return np.ascontiguousarray(a.transpose(2, 3, 0, 1)).reshape(H, W, N * C)


def nchw(a: np.ndarray, N: int, C: int) -> np.ndarray:
    """The (N, C, H, W) view of (H, W, N*C) memory."""
    H, W = a.shape[:2]
    return a.reshape(H, W, N, C).transpose(2, 3, 0, 1)


def warm_calls(dtype, op: str = "maxpool"):
    """The kernels of `op` with tiny arguments of dtype, typed as the layers call them:
    (the forward's, the backward's) lists of (kernel, args); see warmup.py."""
    x, y = np.zeros((2, 2, 1), dtype), np.zeros((1, 1, 1), dtype)
    if op == "maxpool":
        return ([(max_forward, (x, 2, 2, False, y, y))], [(max_backward, (x, y, y, 2, 2, False, x))])
    scale = np.dtype(dtype).type(0.25)
    return ([(avg_forward, (x, 2, 2, scale, y))], [(avg_backward, (y, 2, 2, scale, x))])
