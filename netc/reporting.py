"""What training shows on screen: one line per epoch, and a progress bar
within the epoch when stderr is a terminal."""
from __future__ import annotations

import sys
import time


def _fmt(value, spec=".4f"):
    return "-" if value is None else format(value, spec)


class Reporter:
    def __init__(self, plan, quiet: bool = False, stream=None):
        self.quiet = quiet
        self.out = stream or sys.stdout
        self.bar = None if quiet or not sys.stderr.isatty() else sys.stderr
        self.epochs = plan.data["train"]["epochs"]
        self._last_draw = 0.0
        self._bar_shown = False

    def step(self, position, total_steps: int) -> None:
        if self.bar is None:
            return
        now = time.monotonic()
        if now - self._last_draw < 0.1 and position.step != total_steps:
            return
        self._last_draw = now
        width = 30
        done = width * position.step // total_steps
        loss = position.loss_sum / max(position.images, 1)
        self.bar.write(f"\repoch {position.epoch + 1}/{self.epochs} [{'#' * done}{'.' * (width - done)}] "
                       f"{position.step}/{total_steps}  loss {loss:.4f}")
        self.bar.flush()
        self._bar_shown = True

    def _clear(self):
        if self.bar is not None and self._bar_shown:
            self.bar.write("\r\033[K")
            self.bar.flush()
            self._bar_shown = False

    def epoch(self, record: dict) -> None:
        self._clear()
        if self.quiet:
            return
        width = len(str(self.epochs))
        self.out.write(
            f"epoch {record['epoch']:>{width}}/{self.epochs}  loss {_fmt(record['train_loss'])}  "
            f"train {_fmt(record['train_acc'])}  val {_fmt(record['val_acc'])}  "
            f"test {_fmt(record['test_acc'])}  {record['train_seconds']:.1f}s\n")
        self.out.flush()

    def close(self) -> None:
        self._clear()
