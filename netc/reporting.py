"""What training shows: a start line, one labelled line per epoch, and on a
terminal a progress bar (tqdm) with images/s, elapsed time and ETA for the
epoch and for the whole run. Without a terminal, only the lines."""
from __future__ import annotations

import shutil
import sys
import time

from tqdm import tqdm


def plural(count: int, word: str) -> str:
    """'1 epoch', '2 epochs'."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _is_terminal(stream) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def epoch_line(record: dict, epochs: int, show_lr: bool, seconds: float | None) -> str:
    """`epoch  3/20  train loss 0.1234 acc 0.9650  val loss ... acc ...  test
    loss ... acc ...  lr 0.01  time 12.3s`: every number has its label, and a
    part the run does not have (no validation split) is left out."""
    parts = [f"epoch {record['epoch']:>{len(str(epochs))}}/{epochs}",
             f"train loss {record['train_loss']:.4f} acc {record['train_acc']:.4f}"]
    for split in ("val", "test"):
        acc, loss = record.get(f"{split}_acc"), record.get(f"{split}_loss")
        if acc is not None:
            parts.append(f"{split} " + (f"loss {loss:.4f} " if loss is not None else "") + f"acc {acc:.4f}")
    if show_lr and record.get("lr") is not None:
        parts.append(f"lr {record['lr']:.4g}")
    if seconds is not None:
        parts.append(f"time {seconds:.1f}s")
    return "  ".join(parts)


class Reporter:
    """Lines go to `stream` (stdout); the bar goes to `bar_stream` (stderr)
    when that is a terminal."""

    redraw_seconds = 0.2

    def __init__(self, plan, quiet: bool = False, stream=None, bar_stream=None):
        self.quiet = quiet
        self.out = stream or sys.stdout
        bar_stream = bar_stream or sys.stderr
        self.bar_stream = bar_stream if not quiet and _is_terminal(bar_stream) else None
        self.plan = plan
        self.epochs = plan.data["train"]["epochs"]
        self.batch = plan.data["train"]["batch"]
        self.show_lr = plan.data.get("schedule") is not None
        self._bar = None
        self._images = 0                 # per epoch, from the trainer's Position
        self._run_started = self._epoch_started = time.monotonic()
        self._run_images = 0             # images trained in this session, all epochs
        self._images_per_epoch = None

    # -- lines ----------------------------------------------------------------

    def _line(self, text: str) -> None:
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.clear()
        self.out.write(text + "\n")
        self.out.flush()
        if self._bar is not None:
            self._bar.refresh()

    def start(self, data, run_dir, resumed_epochs: int = 0) -> None:
        """Model, parameters, data and where it was found, the run folder."""
        self._images_per_epoch = len(data.x_train)
        plan = self.plan.data
        sizes = [f"{len(data.x_train):,} train"]
        if data.x_val is not None:
            sizes.append(f"{len(data.x_val):,} val")
        if len(data.x_test):
            sizes.append(f"{len(data.x_test):,} test")
        verified = {True: ", checksums verified", False: ", checksums not verified"}.get(data.verified, "")
        action = f"resuming at epoch {resumed_epochs + 1} of {self.epochs}" if resumed_epochs else \
            f"training {plural(self.epochs, 'epoch')} of batch {self.batch}"
        self._line(f"{plan['name']}: {plural(plan['total_params'], 'parameter')}; "
                   f"data {data.name} ({' / '.join(sizes)}) from {data.location}{verified}; "
                   f"{action}; run folder {run_dir}")

    def epoch(self, record: dict) -> None:
        now = time.monotonic()
        seconds, self._epoch_started = now - self._epoch_started, now
        self._close_bar()
        self._line(epoch_line(record, self.epochs, self.show_lr, seconds))

    def note(self, text: str) -> None:
        self._line(text)

    # -- the bar ----------------------------------------------------------------

    def step(self, position, total_steps: int) -> None:
        if self.bar_stream is None:
            return
        images = self._images_per_epoch or total_steps * self.batch
        if self._bar is None:
            self._bar = self._new_bar(position, images)
        self._bar.update(position.images - self._images)
        self._run_images += position.images - self._images
        self._images = position.images
        self._bar.set_postfix_str(self._run_text(position, images), refresh=False)

    def _new_bar(self, position, images: int):
        # A run resumed inside an epoch starts its bar where the epoch stands.
        self._images = position.images if position.step > 1 else 0
        # Measured again every epoch, so a resized window gets a fitting bar;
        # shutil asks COLUMNS/LINES first, then the terminal, and answers 80x24
        # for a terminal that reports no size (tqdm would then draw nothing).
        size = shutil.get_terminal_size()
        return tqdm(total=images, initial=self._images, desc=f"epoch {position.epoch + 1}/{self.epochs}",
                    unit="img", unit_scale=True, file=self.bar_stream, leave=False,
                    ncols=size.columns, nrows=size.lines,
                    mininterval=self.redraw_seconds,
                    bar_format="{desc} {percentage:3.0f}%|{bar}| {rate_fmt} {elapsed}<{remaining}{postfix}")

    def _run_text(self, position, images: int) -> str:
        """The loss so far and the whole run's elapsed time and ETA."""
        elapsed = time.monotonic() - self._run_started
        left = (self.epochs - position.epoch) * images - position.images
        rate = self._run_images / elapsed if elapsed > 0 else 0
        eta = tqdm.format_interval(left / rate) if rate else "?"
        loss = position.loss_sum / max(position.images, 1)
        return f"run {tqdm.format_interval(elapsed)}<{eta}, loss {loss:.4f}"

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar, self._images = None, 0

    def close(self) -> None:
        self._close_bar()
