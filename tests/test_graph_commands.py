"""Every command that runs a network works on a graph: train, --resume (bit
for bit), eval and --weights, bench, compare, search, activations, gradcheck."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from netc.cli import cli

GRAPH = """network tinygraph
input 1x8x8
stem = conv 4x3x3 pad=1 -> relu
a = stem -> conv 4x3x3 pad=1 -> dropout 0.2
b = stem -> conv 2x1x1 -> relu
c = add stem a -> relu
concat c b -> pool 2 -> affine 3 -> softmax
data npz path="{npz}" validation=0.2
optimizer adam lr=0.01
train epochs=2 batch=20 eval=50
seed 4
"""


@pytest.fixture
def graph_file(tmp_path, tiny_npz):
    path = tmp_path / "tinygraph.net"
    path.write_text(GRAPH.format(npz=tiny_npz))
    return path


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def metrics(folder):
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_train_resume_and_eval(graph_file, tmp_path):
    whole, half = tmp_path / "whole", tmp_path / "half"
    run("train", graph_file, "--out", whole, "--quiet")
    run("train", graph_file, "--out", half, "--epochs", "1", "--quiet")
    run("train", "--resume", half, "--epochs", "2", "--quiet")
    drop_time = lambda records: [{k: v for k, v in r.items() if "seconds" not in k} for r in records]
    assert drop_time(metrics(half)) == drop_time(metrics(whole))
    assert metrics(whole)[-1]["test_acc"] > 0.5
    result = json.loads(run("eval", graph_file, "--weights", whole, "--json").output)
    assert result["accuracy"] == pytest.approx(metrics(whole)[-1]["test_acc"])


def test_bench_and_layer_times(graph_file):
    out = run("bench", graph_file, "--batch", "20", "--iters", "2", "--layers").output
    assert "add" in out and "concat" in out and "images/s" in out


def test_compare_and_search(graph_file, tmp_path):
    out = run("compare", graph_file, "--vary", "optimizer.lr=0.01,0.02", "--out", tmp_path / "cmp").output
    assert "0.02" in out
    text = graph_file.read_text() + "search lr=log(0.001, 0.1) trials=2 epochs=1\n"
    graph_file.write_text(text)
    run("search", graph_file, "--out", tmp_path / "search")
    assert (tmp_path / "search" / "best.net").exists()


def test_activations_and_gradcheck(graph_file, tmp_path):
    out = run("activations", graph_file, "--samples", "20", "-o", tmp_path / "act.png").output
    assert out.count("relu") == 3
    assert "passed" in run("gradcheck", graph_file).output


def test_compare_refuses_a_folder_holding_a_run_and_replaces_its_own_with_force(graph_file, tmp_path):
    run("train", graph_file, "--out", tmp_path / "run", "--epochs", "1", "--quiet")
    result = CliRunner().invoke(cli, ["compare", str(graph_file), "--vary", "optimizer.lr=0.01,0.02",
                                      "--epochs", "1", "--out", str(tmp_path / "run")])
    assert result.exit_code == 1 and "already holds a run" in result.output
    args = ["compare", str(graph_file), "--vary", "optimizer.lr=0.01,0.02", "--epochs", "1", "--out",
            str(tmp_path / "cmp")]
    run(*args)
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "already holds a comparison" in again.output
    run(*args, "--force")


def test_search_refuses_a_folder_holding_a_run(graph_file, tmp_path):
    run("train", graph_file, "--out", tmp_path / "run", "--epochs", "1", "--quiet")
    graph_file.write_text(graph_file.read_text() + "search lr=log(0.001, 0.1) trials=2 epochs=1\n")
    result = CliRunner().invoke(cli, ["search", str(graph_file), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1 and "already holds a run" in result.output
