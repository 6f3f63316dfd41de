"""The training display: a start line, labelled epoch lines, and on a
terminal a progress bar fitted to its width."""
from __future__ import annotations

import io
import re

import netc
from netc.reporting import Reporter, epoch_line, plural

from helpers import tiny_spec


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def _train(tmp_path, tiny_npz, bar, extra="", overrides=(), epochs=2):
    spec = tmp_path / "tiny.net"
    spec.write_text(tiny_spec(tiny_npz, extra=extra))
    lines = io.StringIO()

    def reporter(plan, quiet=False, stream=None):
        return Reporter(plan, quiet=quiet, stream=lines, bar_stream=bar)

    import netc.training as training
    original, training.Reporter = training.Reporter, reporter
    try:
        netc.train(spec, out=tmp_path / "run", epochs=epochs, overrides=overrides, quiet=False)
    finally:
        training.Reporter = original
    return lines.getvalue()


def test_lines_without_a_terminal(tmp_path, tiny_npz):
    bar = io.StringIO()                   # not a terminal: no bar at all
    text = _train(tmp_path, tiny_npz, bar, epochs=1)
    start, line = text.splitlines()
    assert start.startswith("tiny: 1,131 parameters; data npz (160 train / 40 val / 60 test) from ")
    assert start.endswith(f"training 1 epoch of batch 32; run folder {tmp_path / 'run'}")
    assert re.fullmatch(r"epoch 1/1  train loss \d\.\d{4} acc \d\.\d{4}  val loss \d\.\d{4} acc \d\.\d{4}  "
                        r"test loss \d\.\d{4} acc \d\.\d{4}  time \d+\.\ds", line), line
    assert bar.getvalue() == ""


def test_no_validation_split_no_val_column_and_lr_with_a_schedule(tmp_path, tiny_npz):
    text = _train(tmp_path, tiny_npz, io.StringIO(), extra="schedule exponential factor=0.5\n",
                  overrides=["data.validation=0"])
    lines = text.splitlines()
    assert "val" not in "".join(lines[1:]) and "(200 train / 60 test)" in lines[0]
    assert lines[1].split("  ")[-2:-1] == ["lr 0.01"] and lines[2].split("  ")[-2:-1] == ["lr 0.005"]


def test_bar_on_a_terminal_fits_its_width(tmp_path, tiny_npz, monkeypatch):
    monkeypatch.setenv("COLUMNS", "90")
    monkeypatch.setenv("LINES", "24")
    monkeypatch.setattr(Reporter, "redraw_seconds", 0)     # a tiny run is over in 0.2 s
    bar = FakeTerminal()
    text = _train(tmp_path, tiny_npz, bar)
    drawn = [frame for frame in bar.getvalue().split("\r") if frame.strip()]
    assert drawn and all(len(frame.rstrip()) <= 90 for frame in drawn)
    last = [frame for frame in drawn if "run" in frame][-1]
    assert re.search(r"epoch 2/2 +\d+%\|.{10,}\| [\d.]+k?img/s \d\d:\d\d<\d\d:\d\d, run \d\d:\d\d<\d\d:\d\d, "
                     r"loss \d\.\d{4}", last), last
    assert len(text.splitlines()) == 3     # the lines are the same as without a terminal


def test_plural_and_epoch_line_parts():
    assert plural(1, "epoch") == "1 epoch" and plural(2, "epoch") == "2 epochs"
    record = {"epoch": 3, "lr": 0.1, "train_loss": 0.5, "train_acc": 0.9, "val_loss": None, "val_acc": None,
              "test_loss": 0.4, "test_acc": 0.91}
    assert epoch_line(record, 10, False, 1.25) == \
        "epoch  3/10  train loss 0.5000 acc 0.9000  test loss 0.4000 acc 0.9100  time 1.2s"
