"""Early stopping: watch a validation score after every epoch, remember the
best epoch, and stop after `patience` epochs in a row without a better one."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class EarlyStopping:
    patience: int | None            # None: never stop early
    monitor: str = "val_loss"       # or val_acc
    best: float | None = None
    best_epoch: int | None = None
    wait: int = 0
    stopped: bool = False

    @property
    def active(self) -> bool:
        return self.patience is not None

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value < self.best if self.monitor == "val_loss" else value > self.best

    def observe(self, record: dict) -> bool:
        """Take a finished epoch's record; True when it is the best so far."""
        if not self.active:
            return False
        value = record[self.monitor]
        if self._better(value):
            self.best, self.best_epoch, self.wait = value, record["epoch"], 0
            return True
        self.wait += 1
        self.stopped = self.wait >= self.patience
        return False

    def state(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in ("patience", "monitor")}

    def load_state(self, state: dict) -> None:
        self.__dict__.update(state)
