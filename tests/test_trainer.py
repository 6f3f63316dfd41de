"""The trainer through netc.train: it learns, writes its run folder, stops
cleanly on Ctrl-C and on a diverging loss, and resumes bit for bit."""
from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest

import netc
import netc.training as training
from netc.errors import NetcRuntimeError
from netc.runtime.checkpoint import read_npz

from helpers import MODELS, tiny_spec


def _write(tmp_path, text, name="tiny.net"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _params(run_dir):
    arrays = read_npz(run_dir / "checkpoint.npz")
    return {k: v for k, v in arrays.items() if k.startswith(("param/", "state/", "optim/"))}


def test_small_run_learns_and_writes_its_run_folder(tmp_path, tiny_npz):
    spec = _write(tmp_path, tiny_spec(tiny_npz))
    summary = netc.train(spec, out=tmp_path / "run")
    assert summary["epochs"] == 6
    assert summary["test_acc"] >= 0.9
    assert summary["val_acc"] is not None
    run = tmp_path / "run"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert records[-1]["test_acc"] == summary["test_acc"]
    assert json.loads((run / "plan.json").read_text())["format"] == "netc-plan/1"
    assert json.loads((run / "spec.json").read_text())["train"]["epochs"] == 6


def test_eval_of_the_checkpoint_repeats_the_final_test_accuracy(tmp_path, tiny_npz):
    spec = _write(tmp_path, tiny_spec(tiny_npz))
    summary = netc.train(spec, out=tmp_path / "run")
    result = training.evaluate_file(spec, tmp_path / "run")
    assert result["accuracy"] == summary["test_acc"]


def test_same_seed_same_weights(tmp_path, tiny_npz):
    spec = _write(tmp_path, tiny_spec(tiny_npz))
    netc.train(spec, out=tmp_path / "a")
    netc.train(spec, out=tmp_path / "b")
    a, b = _params(tmp_path / "a"), _params(tmp_path / "b")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    netc.train(spec, out=tmp_path / "c", overrides=["seed=8"])
    c = _params(tmp_path / "c")
    assert not np.array_equal(a["param/0.conv.W"], c["param/0.conv.W"])


def test_overrides_change_the_run_and_are_validated(tmp_path, tiny_npz):
    spec = _write(tmp_path, tiny_spec(tiny_npz))
    summary = netc.train(spec, out=tmp_path / "run", overrides=["train.batch=50"], epochs=1)
    assert summary["epochs"] == 1
    assert json.loads((tmp_path / "run" / "spec.json").read_text())["train"]["batch"] == 50
    with pytest.raises(netc.NetcError, match="out of range"):
        netc.train(spec, out=tmp_path / "bad", overrides=["optimizer.lr=-1"])


class _InterruptAt(training.Reporter):
    """Sends a real SIGINT to this process at (epoch, step), as Ctrl-C would."""
    at = (1, 2)

    def step(self, position, total):
        if (position.epoch, position.step) == self.at:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("at", [(1, 2), (0, 5)])
def test_ctrl_c_saves_and_resume_matches_an_uninterrupted_run(tmp_path, tiny_npz, monkeypatch, at):
    spec = _write(tmp_path, tiny_spec(tiny_npz))
    netc.train(spec, out=tmp_path / "straight")

    monkeypatch.setattr(_InterruptAt, "at", at)
    monkeypatch.setattr(training, "Reporter", _InterruptAt)
    with pytest.raises(training.TrainingInterrupted) as stopped:
        netc.train(spec, out=tmp_path / "broken")
    assert "netc train --resume" in str(stopped.value)
    monkeypatch.undo()

    summary = netc.train(resume=tmp_path / "broken")
    straight, resumed = _params(tmp_path / "straight"), _params(tmp_path / "broken")
    assert straight.keys() == resumed.keys()
    for key in straight:
        assert np.array_equal(straight[key], resumed[key]), key
    assert summary["epochs"] == 6
    lines = (tmp_path / "broken" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(l)["epoch"] for l in lines] == [1, 2, 3, 4, 5, 6]


def test_resume_can_extend_the_epochs(tmp_path, tiny_npz):
    spec = _write(tmp_path, tiny_spec(tiny_npz))
    netc.train(spec, out=tmp_path / "run", epochs=1)
    summary = netc.train(resume=tmp_path / "run", epochs=2)
    assert summary["epochs"] == 2


def test_a_diverging_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, tiny_npz):
    spec = _write(tmp_path, tiny_spec(tiny_npz))
    netc.train(spec, out=tmp_path / "run", epochs=1)
    before = _params(tmp_path / "run")
    with pytest.raises(NetcRuntimeError, match=r"epoch 2, step \d+") as error:
        netc.train(resume=tmp_path / "run", epochs=3, overrides=["optimizer.lr=1e30"])
    assert "learning rate" in error.value.hint
    after = _params(tmp_path / "run")
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_a_network_without_loss_cannot_be_trained(tmp_path):
    with pytest.raises(NetcRuntimeError, match="can be run, not trained"):
        netc.train(MODELS / "and.net")


def test_a_network_without_data_cannot_be_trained():
    with pytest.raises(NetcRuntimeError, match="no 'data' directive"):
        netc.train("input 4\naffine 2 -> softmax\n")


def test_partial_last_batch_is_trained(tmp_path, tiny_npz, monkeypatch):
    # 160 training samples (200 minus the validation fifth) in batches of 64: 64, 64, 32.
    spec = _write(tmp_path, tiny_spec(tiny_npz))
    seen = []

    class Counting(training.Reporter):
        def step(self, position, total):
            seen.append((position.step, total, position.images))

    monkeypatch.setattr(training, "Reporter", Counting)
    netc.train(spec, out=tmp_path / "run", epochs=1, overrides=["train.batch=64"])
    assert seen[-1] == (3, 3, 160)
