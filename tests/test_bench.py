"""netc bench: the report's shape and the CLI (no timing is asserted)."""
import json

import pytest
from click.testing import CliRunner

from netc.bench import format_layers, format_result, layer_times, run, synthetic_batches
from netc.cli import cli

from helpers import MODELS
from plans import make_plan

KEYS = {"train_images_per_s", "infer_images_per_s", "gflops", "peak_rss_mb", "lanes", "train_rounds"}


def tiny_plan():
    plan = make_plan([1, 6, 6], [("conv", {"filters": 2, "kernel": [3, 3]}), ("relu", {}),
                                 ("affine", {"units": 3}), ("softmax", {})])
    plan["total_flops"] = 2000
    return plan


def test_run_reports_throughput_flops_and_memory():
    result = run(tiny_plan(), batch=4, iters=2, rounds=3, warmup=1)
    assert KEYS <= result.keys()
    assert len(result["train_rounds"]) == 3
    assert result["train_images_per_s"] > 0 and result["infer_images_per_s"] > 0
    assert result["gflops"] == pytest.approx(3 * 2000 * result["train_images_per_s"] / 1e9, abs=0.01)
    assert result["peak_rss_mb"] > 1
    assert "train" in format_result(result)


def test_synthetic_batches_are_uint8_and_distinct():
    batches = synthetic_batches(tiny_plan(), 5)
    x0, t0 = batches[0]
    assert x0.dtype.name == "uint8" and x0.shape == (5, 1, 6, 6) and t0.max() < 3
    assert any((x != x0).any() for x, _ in batches[1:])


def test_cli_json():
    result = CliRunner().invoke(cli, ["bench", str(MODELS / "simpleconv.net"), "--batch", "4",
                                      "--iters", "1", "--rounds", "1", "--warmup", "0", "--json"])
    assert result.exit_code == 0, result.output
    assert KEYS <= json.loads(result.output).keys()


def test_cli_threads():
    result = CliRunner().invoke(cli, ["bench", str(MODELS / "simpleconv.net"), "--batch", "2",
                                      "--iters", "1", "--rounds", "1", "--warmup", "0", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "1 BLAS threads" in result.output


def test_cli_rejects_a_network_without_loss(tmp_path):
    spec = tmp_path / "noloss.net"
    spec.write_text("network noloss\ninput 2\naffine 2\n")
    result = CliRunner().invoke(cli, ["bench", str(spec)])
    assert result.exit_code != 0


def test_layer_times_cover_every_layer_the_loss_reads():
    rows = layer_times(tiny_plan(), batch=4, iters=2, warmup=1)
    assert [(r["index"], r["op"]) for r in rows] == [(0, "conv"), (1, "relu"), (2, "affine")]
    assert all(r["forward_ms"] > 0 and r["backward_ms"] >= 0 for r in rows)
    table = format_layers(rows, 4).splitlines()
    assert table[0] == "one lane of 4 images, ms per training step:"
    assert [line.split()[1] for line in table[2:5]] == ["conv", "relu", "affine"]
    assert table[-1].split()[0] == "total"


def test_layer_table_columns_fit_long_kernel_names():
    rows = [{"index": 0, "op": "conv", "kernel": "numba-winograd4", "forward_ms": 2.5, "backward_ms": 4.75},
            {"index": 1, "op": "relu", "kernel": "fused", "forward_ms": 0.001, "backward_ms": 0.0}]
    header, conv, relu, total = format_layers(rows, 100).splitlines()[1:]
    assert header.index("kernel") == conv.index("numba-winograd4") == relu.index("fused")
    forward_end = header.index("forward") + len("forward")
    assert conv[:forward_end].endswith("2.500") and relu[:forward_end].endswith("0.001")
    assert total[:forward_end].endswith("2.501")


def test_cli_layers_table_and_json():
    args = ["bench", str(MODELS / "simpleconv.net"), "--batch", "2", "--iters", "1", "--rounds", "1",
            "--warmup", "0", "--layers"]
    text = CliRunner().invoke(cli, args)
    assert text.exit_code == 0, text.output
    assert "fused" in text.output and "winograd" not in text.output  # simpleconv's relu runs in its pool
    result = CliRunner().invoke(cli, args + ["--json"])
    layers = json.loads(result.output)["layers"]
    assert [r["op"] for r in layers] == ["conv", "relu", "maxpool", "affine", "relu", "affine"]


def test_a_regression_network_gets_real_valued_targets_shaped_like_its_output():
    # threelayer ends in identity with 2 outputs: mse, not class indices
    result = CliRunner().invoke(cli, ["bench", str(MODELS / "threelayer.net"), "--batch", "4",
                                      "--iters", "1", "--rounds", "1", "--warmup", "0", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(CliRunner().invoke(cli, ["compile", str(MODELS / "threelayer.net")]).output)
    _, t = synthetic_batches(plan, 4)[0]
    assert t.shape == (4, 2) and t.dtype.name == "float32"
