"""Runtime losses: (output, target) -> (batch-mean loss, gradient w.r.t. output),
and each loss summed over a batch, which evaluation adds up chunk by chunk.
Both forms share one computation, so training and evaluation report the same
loss for the same batch."""
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


def _labels_or_dense(t: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Integer class labels (N,) as they are; anything else as dense targets like logits."""
    t = np.asarray(t)
    if t.ndim == 1 and np.issubdtype(t.dtype, np.integer):
        if t.shape[0] != logits.shape[0]:
            raise ValueError(f"{t.shape[0]} labels for a batch of {logits.shape[0]}")
        return t
    return _as_targets(t, logits)


def _shifted_exp(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z, exp(z), row sums of exp(z)) with z = logits - row max, so exp cannot
    overflow and log_softmax = z - log(sum)."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return z, e, e.sum(axis=1, keepdims=True)


def _summed_cross_entropy(z: np.ndarray, log_total: np.ndarray, t: np.ndarray) -> float:
    """-sum(t * log_softmax) from its parts: no log(0), so no 1e-7 guard, even
    where a probability underflows to 0. Summed in float64."""
    if t.ndim == 1:  # class labels (see _labels_or_dense)
        return float(np.sum(log_total[:, 0] - z[np.arange(len(t)), t], dtype=np.float64))
    return float(np.sum(t * (log_total - z), dtype=np.float64))


def cross_entropy_sum(logits: np.ndarray, t: np.ndarray) -> float:
    """logits (N, K), t int labels (N,) or one-hot (N, K) -> summed cross-entropy
    of softmax(logits), computed exactly as softmax_cross_entropy computes it."""
    z, _, total = _shifted_exp(logits)
    return _summed_cross_entropy(z, np.log(total), _labels_or_dense(t, logits))


def softmax_cross_entropy(logits: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """logits (N, K), t int labels (N,) or one-hot (N, K) -> (loss, dlogits (N, K)).

    Fused softmax + cross-entropy via log-softmax:
    loss = mean(logsumexp(z) - z[t]); dlogits = (softmax(z) * sum(t) - t) / N.
    """
    N = logits.shape[0]
    t = _labels_or_dense(t, logits)
    z, p, total = _shifted_exp(logits)
    loss = _summed_cross_entropy(z, np.log(total), t) / N
    p /= total  # softmax, reused as the gradient buffer
    # exp of logits ~90 below the max is subnormal; backward through them is
    # ~100x slower on x86, and they are far below float32 resolution of the loss.
    p[p < TINY] = 0
    if t.ndim == 1:  # class labels
        p[np.arange(N), t] -= 1
    else:
        p *= t.sum(axis=1, keepdims=True)  # = p for one-hot rows
        p -= t
    p /= p.dtype.type(N)
    return loss, p


def _half_squared_sum(diff: np.ndarray) -> float:
    return 0.5 * float(np.vdot(diff, diff))


def squared_error_sum(y: np.ndarray, t: np.ndarray) -> float:
    """y (N, ...), t same size -> 0.5 * sum((y - t)^2), as mean_squared_error computes it."""
    return _half_squared_sum(y - _as_targets(t, y))


def mean_squared_error(y: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """y (N, ...), t same size -> (0.5 * sum((y - t)^2) / N, (y - t) / N)."""
    N = y.shape[0]
    diff = y - _as_targets(t, y)
    loss = _half_squared_sum(diff) / N
    diff /= diff.dtype.type(N)
    return loss, diff


LOSSES: dict[str, Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]] = {
    "cross_entropy": softmax_cross_entropy,
    "mse": mean_squared_error,
}

# The same losses summed over a batch (no gradient): evaluation adds chunks, then divides once.
LOSS_SUMS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "cross_entropy": cross_entropy_sum,
    "mse": squared_error_sum,
}
