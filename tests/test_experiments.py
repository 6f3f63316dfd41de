"""Experiments: compare, text curves, and the PNG figures, all on a tiny
synthetic data set (the search's own tests are in test_search*.py)."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import netc
from helpers import MODELS, SEARCH_SPACE as SPACE, mlp_spec, tiny_spec
from netc.cli import cli
from netc.errors import NetcError
from netc.overrides import directive_value
from netc.experiments import activations, compare, curves, filters, plots, search

PNG = b"\x89PNG\r\n\x1a\n"


# --- compare and variants -------------------------------------------------

@pytest.mark.parametrize("key, text, value", [
    ("init", "std:0.01", {"type": "std", "std": 0.01}),
    ("init", "he", {"type": "he"}),
    ("init", "0.05", {"type": "std", "std": 0.05}),
    ("optimizer", "adam:0.001", {"type": "adam", "lr": 0.001}),
    ("optimizer.type", "adam", "adam"),
    ("train.batch", "50", 50),
])
def test_command_line_values(key, text, value):
    assert directive_value(key, text) == value


def test_compare_trains_every_variant_with_one_seed(tmp_path, tiny_npz):
    first, second = tmp_path / "a.net", tmp_path / "b.net"
    first.write_text(mlp_spec(tiny_npz))
    second.write_text(mlp_spec(tiny_npz).replace("seed 3", "seed 11").replace("affine 16", "affine 8"))
    result = compare.compare([first, second], ["optimizer.type=sgd,adam"], epochs=2,
                             out=tmp_path / "cmp", echo=lambda _: None)
    labels = [v["label"] for v in result["variants"]]
    assert labels == ["a/sgd", "a/adam", "b/sgd", "b/adam"]
    for v in result["variants"]:
        spec = json.loads((tmp_path / "cmp" / compare.slug(v["label"]) / "spec.json").read_text())
        assert spec["seed"] == 3 and len(v["records"]) == 2
    assert [v["label"] for v in compare.load_comparison(tmp_path / "cmp")] == labels
    table = compare.table(result["variants"])
    assert "a/adam" in table and "test_acc" in table.splitlines()[0]
    assert "* a/sgd" in compare.text_figures(result["variants"])


def test_compare_needs_something_to_compare(tmp_path, tiny_npz):
    path = tmp_path / "a.net"
    path.write_text(mlp_spec(tiny_npz))
    with pytest.raises(NetcError, match="nothing to compare"):
        compare.compare([path], [])


def test_text_curves_draw_every_series_within_the_grid():
    text = curves.text_curves({"sgd": [2.0, 1.5, None, 1.0], "adam": [1.0, 0.2]}, title="loss",
                              width=40, height=8)
    lines = text.splitlines()
    assert lines[0] == "loss" and lines[-1] == "* sgd  o adam"
    grid = lines[1:9]
    assert grid[0].startswith("  2 |*") and grid[-1].startswith("0.2 |")
    assert sum(line.count("*") for line in grid) == 3 and sum(line.count("o") for line in grid) == 2
    assert curves.text_curves({"x": [None]}) == "(no values)"


# --- activations ------------------------------------------------------------

def test_activation_spread_follows_the_initial_std():
    rows = activations.collect(MODELS / "init_sigmoid.net", ["init=std:1,std:0.01,xavier"], samples=200)
    wide, narrow, xavier = ([a for _, _, a in row["layers"]] for row in rows)
    assert [row["label"] for row in rows] == ["std:1", "std:0.01", "xavier"] and len(wide) == 5
    saturated = lambda a: np.mean((a < 0.01) | (a > 0.99))  # noqa: E731
    assert saturated(wide[-1]) > 0.3 and saturated(narrow[-1]) == 0
    assert narrow[-1].std() < 0.05 < xavier[-1].std()
    assert "saturated" in activations.summary(rows)


# --- figures (matplotlib) ---------------------------------------------------

def _trained_run(tmp_path, tiny_npz, epochs=1):
    spec = tmp_path / "tiny.net"
    spec.write_text(tiny_spec(tiny_npz))
    return netc.train(spec, epochs=epochs, out=tmp_path / "run")["run_dir"]


def test_missing_matplotlib_gives_a_clear_error(tmp_path, tiny_npz, monkeypatch):
    run_dir = _trained_run(tmp_path, tiny_npz)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(NetcError, match=r"netc\[plot\]"):
        plots.pyplot()
    result = CliRunner().invoke(cli, ["plot", str(run_dir)])
    assert result.exit_code == 1 and "matplotlib" in result.output


def test_plot_commands_write_pngs(tmp_path, tiny_npz, mlp_file):
    runner = CliRunner()
    run_dir = _trained_run(tmp_path, tiny_npz, epochs=2)
    assert runner.invoke(cli, ["plot", run_dir]).exit_code == 0
    assert (tmp_path / "run" / "curves.png").read_bytes().startswith(PNG)
    result = runner.invoke(cli, ["filters", run_dir, "-o", str(tmp_path / "f.png")])
    assert result.exit_code == 0, result.output
    assert "4 filters" in result.output and (tmp_path / "f.png").read_bytes().startswith(PNG)
    search.run_search(mlp_file, {"space": SPACE, "trials": 3}, out=tmp_path / "s", echo=lambda _: None)
    assert runner.invoke(cli, ["plot", str(tmp_path / "s"), "-o", str(tmp_path / "s.png")]).exit_code == 0
    assert (tmp_path / "s.png").read_bytes().startswith(PNG)
    result = runner.invoke(cli, ["activations", str(MODELS / "init_relu.net"), "--vary", "init=std:0.01,he",
                                 "--samples", "50", "-o", str(tmp_path / "a.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a.png").read_bytes().startswith(PNG)


def test_filters_before_training_are_the_runs_initial_draw(tmp_path, tiny_npz):
    run_dir = _trained_run(tmp_path, tiny_npz)
    before, after, step = filters.first_conv_weights(run_dir)
    fresh = netc.load(tmp_path / "tiny.net").build(seed=7)
    assert step["op"] == "conv" and before.shape == (4, 1, 3, 3)
    np.testing.assert_array_equal(before, fresh.network.params["0.conv.W"])
    assert not np.allclose(before, after)


def test_cli_compare_prints_table_and_text_curves(tmp_path, tiny_npz):
    path = tmp_path / "a.net"
    path.write_text(mlp_spec(tiny_npz))
    result = CliRunner().invoke(cli, ["compare", str(path), "--vary", "init=std:0.01,he", "--epochs", "2",
                                      "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    assert "std:0.01" in result.output and "training loss per epoch" in result.output
    assert "test accuracy per epoch" in result.output and "training accuracy per epoch" in result.output
