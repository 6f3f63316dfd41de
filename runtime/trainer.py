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

from netc.errors import NetcRuntimeError

from .clipping import ClippedOptimizer
from .data import Dataset
from .divergence import check_loss, check_params
from .metrics import evaluate
from .schedules import WATCHES_VALIDATION, make_schedule
from .stopping import EarlyStopping

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
    schedule: dict | None = None            # the plan's schedule and clip dicts
    clip: dict | None = None
    on_best: Callable = lambda record: None  # the best epoch so far (early stopping): keep its weights

    def __post_init__(self):
        if self.clip:
            self.optimizer = ClippedOptimizer(self.optimizer, **self.clip)
        self.lr_schedule = make_schedule(self.schedule, self.optimizer.hyper["lr"], self.settings["epochs"])
        self.stopping = EarlyStopping(self.settings.get("patience"), self.settings.get("monitor", "val_loss"))

    def state(self) -> dict:
        """What a checkpoint keeps beside the position: schedule and early stopping."""
        return {"schedule": self.lr_schedule.state(), "stopping": self.stopping.state()}

    def load_state(self, state: dict | None) -> None:
        if state:
            self.lr_schedule.load_state(state["schedule"])
            self.stopping.load_state(state["stopping"])

    def _require_validation(self) -> None:
        if self.data.x_val is not None and len(self.data.x_val):
            return
        watchers = ([f"schedule {self.schedule['type']}"] if self.schedule and self.schedule["type"] in WATCHES_VALIDATION
                    else []) + ([f"train patience={self.stopping.patience}"] if self.stopping.active else [])
        if watchers:
            raise NetcRuntimeError(f"{' and '.join(watchers)} watch the validation scores, "
                                   "but this run has no validation split",
                                   hint="hold some training data out, e.g. 'data mnist validation=0.1' "
                                        "or --set data.validation=0.1")

    def order(self, epoch: int) -> np.ndarray:
        n = len(self.data.x_train)
        if not self.settings.get("shuffle", True):
            return np.arange(n)
        return np.random.default_rng([self.seed, SHUFFLE_STREAM, epoch]).permutation(n)

    def run(self, position: Position | None = None) -> list[dict]:
        position = position or Position()
        self._require_validation()
        if position.epoch or position.step:
            self.saved = replace(position)
        stop = _StopFlag(self, position)
        # A diverging run overflows before its loss turns non-finite; the check
        # in _epoch reports that once, clearly, instead of NumPy warnings.
        with stop, np.errstate(over="ignore", invalid="ignore"):
            while position.epoch < self.settings["epochs"] and not self.stopping.stopped:
                # Set at every epoch's start, a resumed epoch included: the rate
                # is a function of the epoch and the state the checkpoint kept.
                self.optimizer.hyper["lr"] = self.lr_schedule.lr(position.epoch)
                self._epoch(position, stop)
                record = self._score(position)
                self.records.append(record)
                self.lr_schedule.observe(record)
                if self.stopping.observe(record):
                    self.on_best(record)
                self.on_epoch(record)
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
            xb, tb = Dataset.batch(x, rows, self.network.dtype), t[rows]
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
        val = evaluate(self.network, data.x_val, data.t_val) if data.x_val is not None else {}
        record = {
            "epoch": position.epoch + 1,
            "lr": self.optimizer.hyper["lr"],
            "train_loss": position.loss_sum / max(position.images, 1),
            "train_acc": evaluate(self.network, data.x_train[sample], data.t_train[sample])["accuracy"],
            "val_loss": val.get("loss"),
            "val_acc": val.get("accuracy"),
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
