"""Runtime losses: (output, target) -> (batch-mean loss, gradient w.r.t. output)."""
from __future__ import annotations

from typing import Callable

import numpy as np

TINY = 1e-30  # softmax probabilities below this are treated as 0 (see below)


def _as_targets(t: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Dense targets shaped and typed like `like` (no float64 upcast of float32)."""
    t = np.asarray(t)
    if t.size != like.size:
        raise ValueError(f"targets of shape {t.shape} do not match outputs {like.shape}")
    return t.astype(like.dtype, copy=False).reshape(like.shape)


def softmax_cross_entropy(logits: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """logits (N, K), t int labels (N,) or one-hot (N, K) -> (loss, dlogits (N, K)).

    Fused softmax + cross-entropy via log-softmax, so no log(0) and no 1e-7 guard:
    loss = mean(logsumexp(z) - z[t]); dlogits = (softmax(z) * sum(t) - t) / N.
    """
    N = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    total = p.sum(axis=1, keepdims=True)
    log_total = np.log(total)
    p /= total  # softmax, reused as the gradient buffer
    # exp of logits ~90 below the max is subnormal; backward through them is
    # ~100x slower on x86, and they are far below float32 resolution of the loss.
    p[p < TINY] = 0
    t = np.asarray(t)
    if t.ndim == 1 and np.issubdtype(t.dtype, np.integer):
        if t.shape[0] != N:
            raise ValueError(f"{t.shape[0]} labels for a batch of {N}")
        rows = np.arange(N)
        loss = float(np.sum(log_total[:, 0] - z[rows, t], dtype=np.float64)) / N
        p[rows, t] -= 1
    else:
        t = _as_targets(t, logits)
        # -sum(t * log_softmax) with log_softmax = z - log_total
        loss = float(np.sum(t * (log_total - z), dtype=np.float64)) / N
        p *= t.sum(axis=1, keepdims=True)  # = p for one-hot rows
        p -= t
    p /= p.dtype.type(N)
    return loss, p


def mean_squared_error(y: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """y (N, ...), t same size -> (0.5 * sum((y - t)^2) / N, (y - t) / N)."""
    N = y.shape[0]
    diff = y - _as_targets(t, y)
    loss = 0.5 * float(np.vdot(diff, diff)) / N
    diff /= diff.dtype.type(N)
    return loss, diff


LOSSES: dict[str, Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]] = {
    "cross_entropy": softmax_cross_entropy,
    "mse": mean_squared_error,
}
