"""Issue 14 items 2, 4, 5 and issue 13 item 3: memory checked before
allocating, divergence stops a run before it saves, signals save and exit
130, and an --out folder holding a run is never replaced by accident."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

import netc
from helpers import MODELS, tiny_spec
from netc.cli import cli
from netc.outfolders import claim
from netc.runtime.budget import NetcMemoryError, check_memory
from netc.runtime.divergence import LOSS_GROWTH, PARAM_BOUND

HUGE = "network huge\ninput 784\naffine 1000000000 -> relu -> affine 10 -> softmax\ndata mnist\n"


def netc_(*args, env=None):
    return CliRunner(env=env).invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _refused(result, *words, code=1):
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


# --- item 2: size before allocation ---------------------------------------

@pytest.mark.parametrize("verb", ["train", "eval", "bench", "run", "predict"])
def test_every_verb_that_builds_a_network_checks_its_size_first(tmp_path, verb):
    spec = tmp_path / "huge.net"
    spec.write_text(HUGE)
    image = tmp_path / "x.npy"
    np.save(image, np.zeros(784, np.float32))
    args = {"train": ["train", spec, "--out", tmp_path / "run"],
            "eval": ["eval", spec, "--weights", image],
            "bench": ["bench", spec],
            "run": ["run", spec, "--input", ",".join(["0"] * 784)],
            "predict": ["predict", spec, "--weights", image, image]}[verb]
    started = time.perf_counter()
    result = netc_(*args)
    _refused(result, "needs about", "layer 0 'affine'", "NETC_MEMORY_LIMIT")
    assert time.perf_counter() - started < 5
    assert not (tmp_path / "run").exists()


def test_the_estimate_names_the_figure_and_the_biggest_layer():
    plan = netc.compile(HUGE)
    with pytest.raises(NetcMemoryError) as caught:
        check_memory(plan, batch=100, training=True)
    message = caught.value.message
    assert "TB" in message or "GB" in message
    assert "layer 0 'affine' (line 3): " in message and caught.value.line == 3


def test_the_ceiling_can_be_raised_and_lowered(monkeypatch):
    plan = netc.load(MODELS / "simpleconv.net")
    monkeypatch.setenv("NETC_MEMORY_LIMIT", "1M")
    with pytest.raises(NetcMemoryError, match="NETC_MEMORY_LIMIT=1M"):
        check_memory(plan, batch=100, training=True)
    monkeypatch.setenv("NETC_MEMORY_LIMIT", "64G")
    need = check_memory(plan, batch=100, training=True)
    # 433,890 float32 parameters, their gradients and two Adam slots are 6.9 MB alone.
    assert 433_890 * 4 * 4 < need < 200 * 2 ** 20
    monkeypatch.setenv("NETC_MEMORY_LIMIT", "off")
    assert check_memory(netc.compile(HUGE), batch=100) > 2 ** 40 / 1000
    monkeypatch.setenv("NETC_MEMORY_LIMIT", "lots")
    with pytest.raises(netc.NetcError, match="is not a size"):
        check_memory(plan, batch=100)


def test_run_checks_its_input_before_building(tmp_path):
    spec = tmp_path / "huge.net"
    spec.write_text(HUGE)
    _refused(netc_("run", spec, "--input", "1,2,3"), "--input has 3 values, but the network takes 784")


# --- item 4: divergence and non-finite numbers ------------------------------

@pytest.fixture
def spec(tmp_path, tiny_npz):
    path = tmp_path / "tiny.net"
    path.write_text(tiny_spec(tiny_npz))
    return path


def test_a_runaway_learning_rate_stops_with_the_bound_and_keeps_the_last_good_checkpoint(tmp_path, spec):
    run = tmp_path / "run"
    assert netc_("train", spec, "--out", run, "-q", "--epochs", "1").exit_code == 0
    good = (run / "checkpoint.npz").read_bytes()
    result = netc_("train", "--resume", run, "-q", "--epochs", "3", "--set", "optimizer.lr=1e6")
    _refused(result, "diverged", f"over {LOSS_GROWTH:g} times the run's first batch loss",
             "the last good checkpoint is kept")
    assert (run / "checkpoint.npz").read_bytes() == good


def test_weights_past_the_bound_are_divergence_even_when_the_loss_is_saturated():
    from netc.runtime.divergence import check_params
    from netc.errors import NetcDivergedError
    with pytest.raises(NetcDivergedError, match="beyond the bound of 1e"):
        check_params({"0.affine.W": np.full(3, PARAM_BOUND * 10, np.float32)}, 0, 5)
    with pytest.raises(NetcDivergedError, match="NaN or infinite"):
        check_params({"0.affine.W": np.array([0.0, np.nan], np.float32)}, 0, 5)
    check_params({"0.affine.W": np.full(3, 100.0, np.float32)}, 0, 5)


def test_a_diverged_first_epoch_writes_no_checkpoint(tmp_path, spec):
    result = netc_("train", spec, "--out", tmp_path / "run", "-q", "--set", "optimizer.type=sgd",
                   "--set", "optimizer.lr=1e9")
    _refused(result, "diverged", "no checkpoint was written")
    assert not (tmp_path / "run" / "checkpoint.npz").exists()


@pytest.mark.parametrize("args", [["gradcheck", MODELS / "twolayer.net", "--tol", "nan"],
                                  ["run", MODELS / "threelayer.net", "--input", "nan,1"],
                                  ["run", MODELS / "threelayer.net", "--input", "1,inf"]])
def test_non_finite_numbers_on_the_command_line_are_usage_errors(args):
    _refused(netc_(*args), "not", code=2)


# --- item 5: signals ---------------------------------------------------------

def _train_and_signal(tmp_path, spec, signals):
    spec.write_text(spec.read_text().replace("epochs=6", "epochs=400"))
    process = subprocess.Popen([sys.executable, "-m", "netc", "train", str(spec), "--out", str(tmp_path / "run")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("epoch"):
            for signum in signals:
                process.send_signal(signum)
            break
    _, err = process.communicate(timeout=60)
    return process.returncode, err


def test_sigterm_saves_a_checkpoint_and_exits_like_ctrl_c(tmp_path, spec):
    code, err = _train_and_signal(tmp_path, spec, [signal.SIGTERM])
    assert code == 130, err
    assert "checkpoint saved" in err and f"netc train --resume {tmp_path / 'run'}" in err
    assert "Traceback" not in err
    assert (tmp_path / "run" / "checkpoint.npz").exists()


def test_a_second_signal_stops_at_once_and_says_what_was_saved(tmp_path, tiny_npz):
    from netc.runtime.trainer import Interrupted, Position, Trainer
    from netc.training import TrainingInterrupted
    plan = netc.compile(tiny_spec(tiny_npz))
    from netc.runtime.data import load_dataset
    from netc.runtime.network import Network
    from netc.runtime.optimizers import make_optimizer
    data = load_dataset(plan.data["data"], plan.data["input_shape"], plan.data["seed"])
    steps = []

    def on_step(position, total):
        steps.append(position.step)
        if position.epoch == 1 and position.step == 2:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)

    trainer = Trainer(Network(plan.data), make_optimizer(plan.data["optimizer"]), data, plan.data["train"],
                      plan.data["seed"], on_step=on_step)
    with pytest.raises(Interrupted) as caught:
        trainer.run(Position())
    stop = caught.value
    assert stop.at_once and (stop.saved.epoch, stop.saved.step) == (1, 0)
    message = str(TrainingInterrupted(tmp_path, stop))
    assert "stopped at once in epoch 2" in message
    assert "nothing saved since the checkpoint" in message and "epoch 2, step 0" in message


# --- issue 13 item 3: --out and --resume --------------------------------------

def test_train_refuses_an_out_folder_holding_a_run_unless_forced(tmp_path, spec):
    run = tmp_path / "run"
    assert netc_("train", spec, "--out", run, "-q", "--epochs", "1").exit_code == 0
    before = (run / "checkpoint.npz").read_bytes()
    _refused(netc_("train", spec, "--out", run, "-q", "--epochs", "1"), "already holds a run", "--force",
             f"netc train --resume {run}")
    assert (run / "checkpoint.npz").read_bytes() == before
    result = netc_("train", spec, "--out", run, "-q", "--epochs", "2", "--force", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["epochs"] == 2


@pytest.mark.parametrize("holding, kind, allowed", [
    (None, "run", True), ("spec.json", "run", False), ("compare.json", "run", False),
    ("search.json", "search", True), ("spec.json", "search", False), ("compare.json", "comparison", False),
])
def test_every_command_reads_an_existing_out_folder_the_same_way(tmp_path, holding, kind, allowed):
    folder = tmp_path / "out"
    folder.mkdir()
    if holding:
        (folder / holding).write_text("{}")
    if allowed:
        assert claim(folder, kind) == folder
    else:
        with pytest.raises(netc.NetcError, match="already holds"):
            claim(folder, kind)
        same_kind = {"spec.json": "run", "compare.json": "comparison", "search.json": "search"}[holding] == kind
        if same_kind:
            assert claim(folder, kind, force=True) == folder
        else:
            with pytest.raises(netc.NetcError):
                claim(folder, kind, force=True)


def test_resume_with_a_different_file_is_an_error(tmp_path, spec):
    run = tmp_path / "run"
    assert netc_("train", spec, "--out", run, "-q", "--epochs", "1").exit_code == 0
    other = tmp_path / "other.net"
    other.write_text(spec.read_text().replace("affine 16", "affine 17"))
    _refused(netc_("train", other, "--resume", run, "-q", "--epochs", "2"),
             "differs from the run being resumed", "layers.3.units: 17 in the file, 16 in the run")
    # The same spec under another name, asking for more epochs, resumes.
    same = tmp_path / "same.net"
    same.write_text(spec.read_text())
    assert netc_("train", same, "--resume", run, "-q", "--epochs", "2").exit_code == 0


@pytest.mark.parametrize("assignment, where", [("weight_decay=NaN", "weight_decay"), ("init=std:NaN", "init.std"),
                                               ("layers.5.ratio=NaN", "layers[5].ratio")])
def test_non_finite_set_values_are_refused_before_training(tmp_path, spec, assignment, where):
    result = netc_("train", spec, "--out", tmp_path / "run", "-q", "--set", assignment)
    _refused(result, f"{where}: nan is not a finite number")
    assert not (tmp_path / "run").exists()
