"""The training loop: epochs of shuffled mini-batches, a score after each
epoch, checkpoints that let an interrupted run resume bit for bit.

Every random draw is a pure function of the run's seed: the epoch's order and
the training-accuracy sample come from (seed, stream, epoch), dropout from the
network's own Generator, whose state the checkpoint keeps."""
from __future__ import annotations

import math
import signal
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from .data import Dataset
from .divergence import check_loss, check_params
from .metrics import evaluate

SHUFFLE_STREAM, EVAL_STREAM = 1, 2


@dataclass
class Position:
    """Where training stands: `step` batches done in epoch `epoch` (from 0)."""
    epoch: int = 0
    step: int = 0
    loss_sum: float = 0.0       # summed batch losses of this epoch so far
    images: int = 0             # images trained on this epoch so far
    seconds: float = 0.0        # time spent in training steps, all epochs
    first_loss: float | None = None  # the run's first batch loss, divergence's yardstick


class Interrupted(Exception):
    """Ctrl-C or SIGTERM stopped training: at a step boundary with a checkpoint
    written (`saved` is `position`), or, on a second signal, at once (`saved`
    is where the last checkpoint stands, None if there is none)."""

    def __init__(self, position: Position, saved: Position | None, at_once: bool = False):
        super().__init__(f"interrupted in epoch {position.epoch + 1} after step {position.step}")
        self.position, self.saved, self.at_once = position, saved, at_once


@dataclass
class Trainer:
    network: object
    optimizer: object
    data: Dataset
    settings: dict                          # the plan's train dict: epochs, batch, eval, shuffle
    seed: int
    on_step: Callable = lambda position, total_steps: None
    on_epoch: Callable = lambda record: None
    save: Callable = lambda position, records: None   # writes a checkpoint
    records: list = field(default_factory=list)
    saved: Position | None = None           # where the last checkpoint written or resumed stands

    def order(self, epoch: int) -> np.ndarray:
        n = len(self.data.x_train)
        if not self.settings.get("shuffle", True):
            return np.arange(n)
        return np.random.default_rng([self.seed, SHUFFLE_STREAM, epoch]).permutation(n)

    def run(self, position: Position | None = None) -> list[dict]:
        position = position or Position()
        if position.epoch or position.step:
            self.saved = replace(position)
        stop = _StopFlag(self, position)
        # A diverging run overflows before its loss turns non-finite; the check
        # in _epoch reports that once, clearly, instead of NumPy warnings.
        with stop, np.errstate(over="ignore", invalid="ignore"):
            while position.epoch < self.settings["epochs"]:
                self._epoch(position, stop)
                self.records.append(self._score(position))
                self.on_epoch(self.records[-1])
                position.epoch, position.step, position.loss_sum, position.images = position.epoch + 1, 0, 0.0, 0
                self._save(position)
        return self.records

    def _save(self, position: Position) -> None:
        """A checkpoint, never of diverged weights (the last good one stays)."""
        check_params(self.network.params, position.epoch, position.step)
        self.save(position, self.records)
        self.saved = replace(position)

    def _epoch(self, position: Position, stop: "_StopFlag") -> None:
        x, t, batch = self.data.x_train, self.data.t_train, self.settings["batch"]
        order = self.order(position.epoch)
        steps = math.ceil(len(order) / batch)       # a last partial batch is trained too
        while position.step < steps:
            if stop.requested:
                self._save(position)
                raise Interrupted(position, position)
            rows = order[position.step * batch:(position.step + 1) * batch]
            xb, tb = Dataset.batch(x, rows), t[rows]
            started = time.perf_counter()
            loss = self.network.train_step(xb, tb, self.optimizer)
            position.seconds += time.perf_counter() - started
            check_loss(loss, position.first_loss, position.epoch, position.step)
            if position.first_loss is None:
                position.first_loss = loss
            position.loss_sum += loss * len(rows)
            position.images += len(rows)
            position.step += 1
            self.on_step(position, steps)

    def _score(self, position: Position) -> dict:
        data, n = self.data, len(self.data.x_train)
        sample = np.random.default_rng([self.seed, EVAL_STREAM, position.epoch]).choice(
            n, size=min(self.settings["eval"], n), replace=False)
        sample.sort()
        record = {
            "epoch": position.epoch + 1,
            "train_loss": position.loss_sum / max(position.images, 1),
            "train_acc": evaluate(self.network, data.x_train[sample], data.t_train[sample])["accuracy"],
            "val_acc": evaluate(self.network, data.x_val, data.t_val)["accuracy"] if data.x_val is not None else None,
        }
        test = evaluate(self.network, data.x_test, data.t_test)
        record.update(test_loss=test["loss"], test_acc=test["accuracy"], train_seconds=position.seconds)
        return record


class _StopFlag:
    """The first Ctrl-C or SIGTERM (what `kill` and job schedulers send) asks
    the loop to stop at the next step boundary, so no update is left half done
    and a checkpoint is written; a second one stops at once, saving nothing."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)
    requested = False

    def __init__(self, trainer: Trainer, position: Position):
        self.trainer, self.position = trainer, position

    def __enter__(self):
        self._previous = {}
        try:
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        except ValueError:          # not the main thread: leave signals alone
            pass
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise Interrupted(replace(self.position), self.trainer.saved, at_once=True)
        self.requested = True

    def __exit__(self, *exc):
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        return False
