"""Training directives: learning-rate schedules, early stopping with best.npz,
gradient clipping; each through --set, --resume (bit for bit) and search."""
from __future__ import annotations

import json
import math
import os
import signal

import numpy as np
import pytest

import netc
import netc.training as training
from netc.errors import NetcError, NetcRuntimeError
from netc.runtime.checkpoint import read_npz
from netc.runtime.clipping import ClippedOptimizer
from netc.runtime.optimizers import make_optimizer
from netc.runtime.schedules import make_schedule
from netc.runtime.stopping import EarlyStopping

from helpers import tiny_spec


def _records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _arrays(path):
    return {k: v for k, v in read_npz(path).items() if k != "meta"}


# -- the parts on their own ----------------------------------------------------

def test_step_exponential_and_cosine_rates():
    step = make_schedule({"type": "step", "every": 2, "factor": 0.5}, 0.1, 6)
    assert [step.lr(e) for e in range(6)] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    exponential = make_schedule({"type": "exponential", "factor": 0.9}, 1.0, 3)
    assert [exponential.lr(e) for e in range(3)] == pytest.approx([1.0, 0.9, 0.81])
    cosine = make_schedule({"type": "cosine", "min": 0.01, "warmup": 2}, 0.1, 7)
    rates = [cosine.lr(e) for e in range(7)]
    assert rates[:2] == pytest.approx([0.05, 0.1])                 # linear warm-up
    assert rates[2] == pytest.approx(0.1) and rates[-1] == pytest.approx(0.01)
    assert rates[4] == pytest.approx(0.01 + 0.09 * (1 + math.cos(math.pi / 2)) / 2)
    assert all(a > b for a, b in zip(rates[2:], rates[3:]))


def test_plateau_cuts_after_patience_epochs_without_a_lower_validation_loss():
    plateau = make_schedule({"type": "plateau", "patience": 2, "factor": 0.5}, 0.1, 10)
    rates = []
    for loss in [1.0, 0.9, 0.95, 0.92, 0.91, 0.8, 0.85]:
        rates.append(plateau.lr(len(rates)))
        plateau.observe({"val_loss": loss})
    assert rates == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05])
    again = make_schedule({"type": "plateau", "patience": 2, "factor": 0.5}, 0.1, 10)
    again.load_state(json.loads(json.dumps(plateau.state())))
    assert again.lr(7) == plateau.lr(7) and again.state() == plateau.state()


@pytest.mark.parametrize("monitor, values, best_epoch, stops_after", [
    ("val_loss", [0.5, 0.4, 0.45, 0.41, 0.6], 2, 4),
    ("val_acc", [0.5, 0.7, 0.7, 0.6, 0.9], 2, 4),
])
def test_early_stopping_keeps_the_best_epoch(monitor, values, best_epoch, stops_after):
    stopping = EarlyStopping(patience=2, monitor=monitor)
    best = []
    for epoch, value in enumerate(values, 1):
        if stopping.observe({"epoch": epoch, monitor: value}):
            best.append(epoch)
        if stopping.stopped:
            break
    assert stopping.best_epoch == best_epoch and epoch == stops_after and best == [1, 2]


def test_clipping_by_global_norm_and_by_value():
    params = {"a": np.zeros(2, np.float32), "b": np.zeros(1, np.float32)}
    grads = {"a": np.array([3.0, 0.0], np.float32), "b": np.array([4.0], np.float32)}   # norm 5
    ClippedOptimizer(make_optimizer({"type": "sgd", "lr": 1.0}), norm=1.0).update(params, grads)
    assert params["a"] == pytest.approx([-0.6, 0]) and params["b"] == pytest.approx([-0.8])
    small = {"a": np.array([0.3, 0.0], np.float32), "b": np.array([0.4], np.float32)}
    params = {k: np.zeros_like(v) for k, v in small.items()}
    ClippedOptimizer(make_optimizer({"type": "sgd", "lr": 1.0}), norm=1.0).update(params, small)
    assert params["b"] == pytest.approx([-0.4])                     # under the norm: unchanged
    grads = {"a": np.array([3.0, -0.5], np.float32), "b": np.array([-4.0], np.float32)}
    params = {k: np.zeros_like(v) for k, v in grads.items()}
    ClippedOptimizer(make_optimizer({"type": "sgd", "lr": 1.0}), value=1.0).update(params, grads)
    assert params["a"] == pytest.approx([-1.0, 0.5]) and params["b"] == pytest.approx([1.0])


# -- compiled and trained ----------------------------------------------------------

def test_directives_compile_with_defaults_and_format_back():
    text = ("input 4\naffine 2 -> softmax\ndata xor\ntrain patience=3\n"
            "schedule cosine warmup=1\nclip norm=5\n")
    plan = netc.compile(text)
    assert plan.data["schedule"] == {"type": "cosine", "min": 0, "warmup": 1}
    assert plan.data["clip"] == {"norm": 5}
    assert plan.data["train"]["patience"] == 3 and plan.data["train"]["monitor"] == "val_loss"
    assert netc.compile(netc.format(text)).data == plan.data
    plain = netc.compile("input 4\naffine 2 -> softmax\n").data
    assert plain["schedule"] is None and plain["clip"] is None and plain["train"]["patience"] is None


@pytest.mark.parametrize("line, message", [
    ("schedule step every=2", "'factor' is a required key"),
    ("schedule cosine factor=0.5", "unknown option 'factor' for 'schedule cosine'"),
    ("schedule exponential factor=1.5", "out of range"),
    ("schedule warm", "unknown schedule 'warm'"),
    ("clip norm=1 value=1", "'clip' takes one of norm=N or value=V"),
    ("clip norm=-1", "out of range"),
    ("train monitor=val_los", "unknown name 'val_los'"),
])
def test_bad_directives_are_reported_at_their_line(line, message):
    with pytest.raises(NetcError, match=message) as caught:
        netc.compile(f"input 4\naffine 2 -> softmax\n{line}\n")
    assert caught.value.line == 3


def test_every_epoch_records_its_rate_and_validation_loss(tmp_path, tiny_npz):
    spec = tmp_path / "tiny.net"
    spec.write_text(tiny_spec(tiny_npz, extra="schedule step every=2 factor=0.5\n"))
    netc.train(spec, out=tmp_path / "run", epochs=4)
    records = _records(tmp_path / "run")
    assert [r["lr"] for r in records] == pytest.approx([0.01, 0.01, 0.005, 0.005])
    assert all(r["val_loss"] > 0 and r["val_acc"] is not None for r in records)


def test_set_and_search_reach_the_directives(tmp_path, tiny_npz):
    spec = tmp_path / "tiny.net"
    spec.write_text(tiny_spec(tiny_npz))
    netc.train(spec, out=tmp_path / "run", epochs=3,
               overrides=["schedule=exponential:0.5", "clip.value=0.5", "train.patience=5"])
    assert [r["lr"] for r in _records(tmp_path / "run")] == pytest.approx([0.01, 0.005, 0.0025])
    plan = json.loads((tmp_path / "run" / "plan.json").read_text())
    assert plan["clip"] == {"value": 0.5} and plan["train"]["patience"] == 5
    searched = netc.compile(tiny_spec(tiny_npz, extra="schedule step every=1 factor=0.5\n"
                                                      "search schedule.factor=uniform(0.1, 0.9) trials=2\n"))
    assert searched.document["search"]["space"] == {"schedule.factor": {"call": "uniform", "args": [0.1, 0.9]}}


def test_early_stopping_stops_and_keeps_best_npz_for_eval(tmp_path, tiny_npz):
    spec = tmp_path / "tiny.net"
    # val_acc reaches 1.0 on these blobs within a few epochs and cannot pass it.
    spec.write_text(tiny_spec(tiny_npz, extra="").replace("train epochs=6", "train epochs=30 patience=2 monitor=val_acc"))
    summary = netc.train(spec, out=tmp_path / "run")
    records = _records(tmp_path / "run")
    assert summary["stopped_early"] and len(records) < 30
    best = summary["best_epoch"]
    assert len(records) == best + 2
    assert records[best - 1]["val_acc"] == max(r["val_acc"] for r in records)
    best_file = tmp_path / "run" / "best.npz"
    assert json.loads(str(read_npz(best_file)["meta"]))["epoch"] == best
    assert training.evaluate_file(spec, best_file)["accuracy"] == records[best - 1]["test_acc"]
    assert training.evaluate_file(spec, tmp_path / "run")["accuracy"] == records[-1]["test_acc"]
    again = netc.train(resume=tmp_path / "run")        # a stopped run stays stopped
    assert again["epochs"] == len(records)


def test_watching_validation_without_a_split_is_a_clear_error(tmp_path, tiny_npz):
    spec = tmp_path / "tiny.net"
    spec.write_text(tiny_spec(tiny_npz, extra="schedule plateau patience=1 factor=0.5\n"))
    with pytest.raises(NetcRuntimeError, match="no validation split") as caught:
        netc.train(spec, out=tmp_path / "run", overrides=["data.validation=0"])
    assert "validation=0.1" in caught.value.hint


class _InterruptAt(training.Reporter):
    at = (3, 2)

    def step(self, position, total):
        if (position.epoch, position.step) == self.at:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("extra, lr", [
    ("schedule plateau patience=1 factor=0.5\nclip norm=5\n", 0.1),   # fast enough to plateau
    ("schedule cosine warmup=2 min=0.001\nclip value=0.01\n", 0.01),
])
def test_resume_is_bit_for_bit_with_schedules_clipping_and_early_stopping(tmp_path, tiny_npz, monkeypatch,
                                                                          extra, lr):
    spec = tmp_path / "tiny.net"
    spec.write_text(tiny_spec(tiny_npz, extra=extra).replace("train epochs=6", "train epochs=6 patience=4")
                    .replace("lr=0.01", f"lr={lr}"))
    netc.train(spec, out=tmp_path / "straight")
    monkeypatch.setattr(training, "Reporter", _InterruptAt)
    with pytest.raises(training.TrainingInterrupted):
        netc.train(spec, out=tmp_path / "broken")
    monkeypatch.undo()
    netc.train(resume=tmp_path / "broken")
    for name in ("checkpoint.npz", "best.npz"):
        straight, resumed = _arrays(tmp_path / "straight" / name), _arrays(tmp_path / "broken" / name)
        assert straight.keys() == resumed.keys()
        assert all(np.array_equal(straight[k], resumed[k]) for k in straight), name
    rates = [r["lr"] for r in _records(tmp_path / "straight")]
    assert [r["lr"] for r in _records(tmp_path / "broken")] == rates
    assert len(set(rates)) > 1                  # the schedule did change the rate


def test_model_fit_uses_the_schedule_and_restarts_it(tiny_npz):
    plan = netc.compile(tiny_spec(tiny_npz, extra="schedule exponential factor=0.5\n"))
    model = plan.build()
    first = model.fit(epochs=2)
    second = model.fit(epochs=2)
    assert [r["lr"] for r in first] == [r["lr"] for r in second] == pytest.approx([0.01, 0.005])


def test_a_float64_model_trains_and_scores_on_float64_batches(tiny_npz):
    plan = netc.compile(tiny_spec(tiny_npz))
    model = plan.build(dtype=np.float64)
    seen = []
    forward = model.network.prepare
    model.network.prepare = lambda x: (seen.append(np.asarray(x).dtype), forward(x))[1]
    model.fit(epochs=1)
    model.evaluate()
    assert seen and set(seen) == {np.dtype(np.float64)}
    assert model.params["0.conv.W"].dtype == np.float64


def test_search_trials_train_with_the_searched_schedule(tmp_path, tiny_npz):
    from netc.experiments import search
    spec = tmp_path / "tiny.net"
    spec.write_text(tiny_spec(tiny_npz, extra="schedule exponential factor=0.5\nclip norm=1\n"))
    space = {"schedule.factor": {"call": "choice", "args": [0.1, 0.9]}}
    search.run_search(spec, {"space": space, "trials": 4, "epochs": 3}, out=tmp_path / "s", echo=lambda line: None)
    trials = search.read_results(tmp_path / "s")
    assert {t["status"] for t in trials} == {"ok"} and len(trials) == 4
    curves = {}
    for t in trials:
        curves.setdefault(t["values"]["schedule.factor"], set()).add((tuple(t["val_curve"]), t["train_loss"]))
    # the same factor trains the same way; a different one changes the rates, so the run
    assert len(curves) == 2 and all(len(runs) == 1 for runs in curves.values())
    assert curves[0.1] != curves[0.9]


def test_a_data_path_is_relative_to_the_net_file(tmp_path, tiny_npz, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    tiny_npz.rename(folder / "digits.npz")
    spec = folder / "tiny.net"
    spec.write_text(tiny_spec("digits.npz"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)                 # not the file's folder
    plan = netc.load(spec)
    assert plan.data["data"]["path"] == str(folder / "digits.npz")
    netc.train(spec, out=tmp_path / "run", epochs=1)
    monkeypatch.chdir(tmp_path)                  # the run folder holds the absolute path: resume from anywhere
    assert netc.train(resume=tmp_path / "run", epochs=2)["epochs"] == 2
    with pytest.raises(NetcError, match="digits.npz"):
        netc.train(netc.compile(tiny_spec("digits.npz")), out=tmp_path / "text", epochs=1)   # text: the cwd
