"""Scoring a network on a data set: loss and accuracy in inference mode,
batch by batch so memory stays bounded."""
from __future__ import annotations

import numpy as np

from .data import Dataset


def correct(y: np.ndarray, t: np.ndarray) -> int:
    """How many predictions are right: argmax against class labels or one-hot
    rows; a single output column is read as a 0/1 decision at 0.5."""
    if t.ndim == 1:
        return int(np.count_nonzero(y.argmax(axis=1) == t))
    if t.shape[1] == 1:
        return int(np.count_nonzero((y[:, 0] > 0.5) == (t[:, 0] > 0.5)))
    return int(np.count_nonzero(y.argmax(axis=1) == t.argmax(axis=1)))


def batch_loss_sum(y: np.ndarray, t: np.ndarray, loss: str | None) -> float:
    """Summed (not averaged) loss of network outputs y, for batched averaging."""
    if loss == "cross_entropy":
        p = y[np.arange(len(y)), t] if t.ndim == 1 else (y * t).sum(axis=1)
        return float(-np.log(p.astype(np.float64) + 1e-7).sum())
    if loss == "mse":
        return float(0.5 * np.square(y.astype(np.float64) - t.reshape(y.shape)).sum())
    return float("nan")


def evaluate(network, x: np.ndarray, t: np.ndarray, batch: int = 1000) -> dict:
    """{"loss", "accuracy", "count"} of `network` on (x, t), inference mode."""
    n = len(x)
    if n == 0:
        return {"loss": None, "accuracy": None, "count": 0}
    right, loss = 0, 0.0
    for start in range(0, n, batch):
        rows = slice(start, start + batch)
        y = network.forward(Dataset.batch(x, rows))
        right += correct(y, t[rows])
        loss += batch_loss_sum(y, t[rows], network.loss_name)
    return {"loss": loss / n, "accuracy": right / n, "count": n}
