"""Learning-rate schedules: the rate of every epoch, from the plan's
`schedule` and the optimizer's lr (where every schedule starts)."""
from __future__ import annotations

import math


class Schedule:
    """No schedule: every epoch trains at the optimizer's lr. Subclasses give
    `lr(epoch)`; one that reads the validation loss also keeps a state, which
    the checkpoint stores so a resumed run takes the same rates."""

    def __init__(self, base_lr: float, epochs: int, **options):
        self.base_lr, self.epochs = base_lr, epochs
        self.__dict__.update(options)

    def lr(self, epoch: int) -> float:
        """The rate of epoch `epoch` (counted from 0)."""
        return self.base_lr

    def observe(self, record: dict) -> None:
        """Called with each finished epoch's record."""

    def state(self) -> dict:
        return {}

    def load_state(self, state: dict) -> None:
        pass


class Step(Schedule):
    """times `factor` every `every` epochs."""

    def lr(self, epoch):
        return self.base_lr * self.factor ** (epoch // self.every)


class Exponential(Schedule):
    """times `factor` after every epoch."""

    def lr(self, epoch):
        return self.base_lr * self.factor ** epoch


class Cosine(Schedule):
    """`warmup` epochs rising linearly to lr, then half a cosine from lr down
    to `min` at the last epoch."""

    def lr(self, epoch):
        if epoch < self.warmup:
            return self.base_lr * (epoch + 1) / self.warmup
        span = self.epochs - self.warmup - 1
        progress = (epoch - self.warmup) / span if span > 0 else 0.0
        return self.min + (self.base_lr - self.min) * (1 + math.cos(math.pi * min(progress, 1.0))) / 2


class Plateau(Schedule):
    """times `factor` once the validation loss has not gone down for
    `patience` epochs in a row (Keras' ReduceLROnPlateau; PyTorch's waits one
    epoch more)."""

    def __init__(self, base_lr, epochs, **options):
        super().__init__(base_lr, epochs, **options)
        self.scale, self.best, self.bad = 1.0, None, 0

    def lr(self, epoch):
        return self.base_lr * self.scale

    def observe(self, record):
        loss = record["val_loss"]
        if self.best is None or loss < self.best:
            self.best, self.bad = loss, 0
            return
        self.bad += 1
        if self.bad >= self.patience:
            self.scale, self.bad = self.scale * self.factor, 0

    def state(self):
        return {"scale": self.scale, "best": self.best, "bad": self.bad}

    def load_state(self, state):
        self.scale, self.best, self.bad = state["scale"], state["best"], state["bad"]


SCHEDULES = {"step": Step, "exponential": Exponential, "cosine": Cosine, "plateau": Plateau}
# Schedules that read the validation loss, so need a validation split.
WATCHES_VALIDATION = ("plateau",)


def make_schedule(spec: dict | None, base_lr: float, epochs: int) -> Schedule:
    """From the plan's `schedule` dict ({type, ...options}) or None."""
    if spec is None:
        return Schedule(base_lr, epochs)
    options = {k: v for k, v in spec.items() if k != "type"}
    return SCHEDULES[spec["type"]](base_lr, epochs, **options)
