"""Telling a diverged run from a bad one, so that training stops with a clear
error before a checkpoint of useless weights replaces the last good one.

A run has diverged when
- a batch loss is NaN or infinite, or exceeds LOSS_GROWTH times the run's
  first batch loss (at least LOSS_GROWTH): cross-entropy starts near ln(classes)
  and saturates near 16 (its log is clipped at 1e-7), so only a weight-decay
  term or a regression loss can grow that far, and then only by diverging;
- a parameter is NaN or infinite, or beyond PARAM_BOUND in magnitude. Trained
  weights of a network fed inputs scaled to 0-1 stay within a few hundred; at
  1e8 a learning rate far too large has taken over (cross-entropy cannot show
  it, being saturated).
"""
from __future__ import annotations

import math

import numpy as np

from netc.errors import NetcDivergedError

LOSS_GROWTH = 1e3
PARAM_BOUND = 1e8
HINT = "training diverged: try a smaller learning rate, e.g. --set optimizer.lr=..."


def check_loss(loss: float, first_loss: float | None, epoch: int, step: int) -> None:
    """Raise NetcDivergedError for a non-finite or runaway batch loss."""
    where = f"in epoch {epoch + 1}, step {step + 1}"
    if not math.isfinite(loss):
        raise NetcDivergedError(f"the loss became {loss} {where}", hint=HINT)
    if first_loss is not None and loss > LOSS_GROWTH * max(first_loss, 1.0):
        raise NetcDivergedError(f"the loss grew to {loss:.3g} {where}, over {LOSS_GROWTH:g} times the run's "
                                f"first batch loss ({first_loss:.3g})", hint=HINT)


def check_params(params: dict[str, np.ndarray], epoch: int, step: int) -> None:
    """Raise NetcDivergedError when a parameter is non-finite or beyond PARAM_BOUND."""
    for name, p in params.items():
        if p.size == 0:
            continue
        largest = float(np.max(np.abs(p)))
        if not math.isfinite(largest) or largest > PARAM_BOUND:
            value = "NaN or infinite" if not math.isfinite(largest) else f"{largest:.3g}"
            raise NetcDivergedError(f"parameter {name} reached {value} in epoch {epoch + 1} (step {step}), "
                                    f"beyond the bound of {PARAM_BOUND:g}", hint=HINT)
