"""Scoring a network on a data set: loss and accuracy in inference mode,
batch by batch so memory stays bounded. The loss is the training loss
(losses.py) on the same inputs the training step gives it."""
from __future__ import annotations

import numpy as np

from .data import Dataset
from .losses import LOSS_SUMS


def correct(y: np.ndarray, t: np.ndarray) -> int:
    """How many predictions are right: argmax against class labels or one-hot
    rows; a single output column is read as a 0/1 decision at 0.5."""
    if t.ndim == 1:
        return int(np.count_nonzero(y.argmax(axis=1) == t))
    if t.shape[1] == 1:
        return int(np.count_nonzero((y[:, 0] > 0.5) == (t[:, 0] > 0.5)))
    return int(np.count_nonzero(y.argmax(axis=1) == t.argmax(axis=1)))


def _no_loss(y: np.ndarray, t: np.ndarray) -> float:
    return float("nan")  # a network without a loss can still be scored for accuracy


def _loss_input_and_outputs(network, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(what the loss reads, the network's outputs) for one inference chunk.

    Cross-entropy reads the logits, with the softmax fused into the loss as in
    training: from probabilities, one that underflows to 0 has no finite log.
    """
    if network.loss_name != "cross_entropy":
        y = network.forward(x)
        return y, y
    logits = network.loss_input(x)
    return logits, network.layers[-1].forward(logits)


def evaluate(network, x: np.ndarray, t: np.ndarray, batch: int = 1000) -> dict:
    """{"loss", "accuracy", "count"} of `network` on (x, t), inference mode.
    The loss has no weight-decay term: it scores the fit, not the objective."""
    n = len(x)
    if n == 0:
        return {"loss": None, "accuracy": None, "count": 0}
    loss_sum = LOSS_SUMS.get(network.loss_name, _no_loss)
    right, loss = 0, 0.0
    for start in range(0, n, batch):
        rows = slice(start, start + batch)
        loss_input, y = _loss_input_and_outputs(network, Dataset.batch(x, rows, getattr(network, "dtype", np.float32)))
        right += correct(y, t[rows])
        loss += loss_sum(loss_input, t[rows])
    return {"loss": loss / n, "accuracy": right / n, "count": n}
