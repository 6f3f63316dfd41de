"""The runtime's verbs end to end: netc run / train / eval / predict /
gradcheck / data, through click's runner and a few real processes."""
from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import netc
from netc.cli import cli
from netc.runtime.checkpoint import read_npz

from helpers import MODELS, tiny_spec

TRUTH = {"and": [0, 0, 0, 1], "nand": [1, 1, 1, 0], "or": [0, 1, 1, 1], "xor": [0, 1, 1, 0]}
INPUTS = ["0,0", "1,0", "0,1", "1,1"]


def netc_(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_chapter3_network_gives_the_book_outputs():
    result = netc_("run", MODELS / "threelayer.net", "--input", "1.0,0.5")
    assert result.exit_code == 0
    assert result.output.split() == ["0.31682708", "0.69627909"]


@pytest.mark.parametrize("gate", sorted(TRUTH))
def test_gates_give_their_truth_tables(gate):
    args = ["run", MODELS / f"{gate}.net", "--json"]
    for i in INPUTS:
        args += ["--input", i]
    result = netc_(*args)
    outputs = json.loads(result.output)["outputs"]
    assert [int(o[0]) for o in outputs] == TRUTH[gate]


def test_run_with_the_wrong_number_of_values_is_a_clear_error():
    result = netc_("run", MODELS / "threelayer.net", "--input", "1,2,3")
    assert result.exit_code == 1
    assert "takes 2" in result.output and "error:" in result.output and "Traceback" not in result.output


def test_train_json_is_the_last_line_and_eval_repeats_it(tmp_path, tiny_npz):
    spec = tmp_path / "tiny.net"
    spec.write_text(tiny_spec(tiny_npz))
    result = netc_("train", spec, "--out", tmp_path / "run", "--json", "--epochs", "2")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert set(summary) >= {"epochs", "train_loss", "train_acc", "val_acc", "test_acc",
                            "seconds", "images_per_s", "run_dir"}
    assert "epoch 1/2" in result.output
    evaluated = json.loads(netc_("eval", spec, "--weights", tmp_path / "run", "--json").output)
    assert evaluated["accuracy"] == summary["test_acc"]


def test_train_set_takes_short_directive_forms(tmp_path, tiny_npz):
    spec = tmp_path / "tiny.net"
    spec.write_text(tiny_spec(tiny_npz))
    result = netc_("train", spec, "--out", tmp_path / "run", "--epochs", "1", "-q",
                   "--set", "init=std:0.05", "--set", "optimizer=adam:0.002")
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "run" / "spec.json").read_text())
    assert saved["init"] == {"type": "std", "std": 0.05}
    assert saved["optimizer"]["type"] == "adam" and saved["optimizer"]["lr"] == 0.002


def test_predict_names_a_class_per_file(tmp_path, tiny_npz):
    spec = tmp_path / "tiny.net"
    spec.write_text(tiny_spec(tiny_npz))
    netc_("train", spec, "--out", tmp_path / "run", "-q")
    data = np.load(tiny_npz)
    files = []
    for i in range(3):
        files.append(tmp_path / f"img{i}.npy")
        np.save(files[-1], data["x_test"][i])
    result = netc_("predict", spec, "--weights", tmp_path / "run", "--json", *files)
    predictions = json.loads(result.output)
    assert [p["class"] for p in predictions] == list(data["t_test"][:3])
    assert all(abs(sum(p["probabilities"]) - 1) < 1e-5 for p in predictions)


def test_weights_of_the_wrong_shape_name_the_layer_line_and_shapes(tmp_path):
    weights = tmp_path / "w.npz"
    np.savez(weights, W1=np.zeros((2, 5)), b1=np.zeros(3), W2=np.zeros((3, 2)), b2=np.zeros(2),
             W3=np.zeros((2, 2)), b3=np.zeros(2))
    result = netc_("run", MODELS / "threelayer.net", "--input", "1,1", "--weights", weights)
    assert result.exit_code == 1
    assert "layer 0 'affine' (line 5)" in result.output
    assert "[2, 5]" in result.output and "[2, 3]" in result.output


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_damaged_checkpoint_is_refused_cleanly(tmp_path, tiny_npz, damage):
    spec = tmp_path / "tiny.net"
    spec.write_text(tiny_spec(tiny_npz))
    netc_("train", spec, "--out", tmp_path / "run", "-q", "--epochs", "1")
    checkpoint = tmp_path / "run" / "checkpoint.npz"
    raw = checkpoint.read_bytes()
    checkpoint.write_bytes(raw[: len(raw) // 2] if damage == "truncate" else b"\x00" * 100)
    result = netc_("eval", spec, "--weights", checkpoint)
    assert result.exit_code == 1
    assert "error:" in result.output and "Traceback" not in result.output


def test_checkpoints_hold_no_pickles(tmp_path, tiny_npz):
    spec = tmp_path / "tiny.net"
    spec.write_text(tiny_spec(tiny_npz))
    netc_("train", spec, "--out", tmp_path / "run", "-q", "--epochs", "1")
    arrays = read_npz(tmp_path / "run" / "checkpoint.npz")      # allow_pickle=False inside
    assert all(a.dtype != object for a in arrays.values())
    assert not list((tmp_path / "run").glob("*.tmp"))


TRAINABLE = sorted(path.stem for path in MODELS.glob("*.net") if netc.load(path).data["trainable"])


def test_the_trainable_models_include_the_book_networks():
    assert {"twolayer", "simpleconv", "deepconv", "mlp", "xor_learned"} <= set(TRAINABLE)


@pytest.mark.parametrize("kernels", ["numba", "numpy", "reference"])
@pytest.mark.parametrize("model", TRAINABLE)
def test_gradcheck_passes_on_every_trainable_model(model, kernels):
    result = netc_("gradcheck", MODELS / f"{model}.net", "--json", "--kernels", kernels)
    report = json.loads(result.output)
    assert result.exit_code == 0 and report["passed"], report


def test_gradcheck_refuses_a_step_network():
    result = netc_("gradcheck", MODELS / "xor.net")
    assert result.exit_code == 1 and "not trained" in result.output


def test_book_weights_reproduce_the_book_accuracies(shared_data):
    params = shared_data / "book-params"
    for model, expected in (("simpleconv", 0.9600), ("deepconv", 0.9797)):
        result = netc_("eval", MODELS / f"{model}.net", "--weights", params / f"{model}.npz", "--json")
        assert json.loads(result.output)["accuracy"] == expected


def test_mnist_training_reaches_a_stated_accuracy(shared_data, tmp_path):
    # 10,000 MNIST images, 2 epochs of SimpleConvNet with the book's settings (0.917 measured).
    result = netc_("train", MODELS / "simpleconv.net", "--epochs", "2", "--set", "data.limit=10000",
                   "--out", tmp_path / "run", "--json", "-q")
    assert json.loads(result.output.strip().splitlines()[-1])["test_acc"] >= 0.90


def test_ctrl_c_in_a_real_process_saves_and_says_how_to_resume(tmp_path, tiny_npz):
    spec = tmp_path / "tiny.net"
    spec.write_text(tiny_spec(tiny_npz).replace("epochs=6", "epochs=400"))
    process = subprocess.Popen([sys.executable, "-m", "netc", "train", str(spec), "--out", str(tmp_path / "run")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("epoch"):
            process.send_signal(signal.SIGINT)
            break
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert f"netc train --resume {tmp_path / 'run'}" in err
    assert "Traceback" not in err
    assert (tmp_path / "run" / "checkpoint.npz").exists()


def test_data_list_and_info(shared_data):
    listing = netc_("data", "list").output
    assert "mnist" in listing and "xor" in listing
    info = json.loads(netc_("data", "info", "mnist", "--json").output)
    assert info["found"]
