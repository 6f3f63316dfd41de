"""Stage 4: shapes, parameter counts and FLOPs, computed by hand."""
from __future__ import annotations

from pathlib import Path

import pytest

import netc

MODELS = Path(__file__).parent.parent / "models"

# (input, layer, output, params, flops per sample); flops: 2 per multiply-add.
TABLE = [
    ("1x28x28", "conv 30x5x5", [30, 24, 24], 30 * 25 + 30, 2 * 25 * 30 * 24 * 24),
    ("1x29x29", "conv 8x3x3 stride=2", [8, 14, 14], 8 * 9 + 8, 2 * 9 * 8 * 14 * 14),
    ("3x32x32", "conv 16x3x3 pad=same", [16, 32, 32], 16 * 27 + 16, 2 * 27 * 16 * 32 * 32),
    ("3x31x31", "conv 16x5x5 pad=same stride=2", [16, 16, 16], 16 * 75 + 16, 2 * 75 * 16 * 16 * 16),
    ("1x10x12", "conv 4x3x5", [4, 8, 8], 4 * 15 + 4, 2 * 15 * 4 * 8 * 8),
    ("1x10x12", "conv 4x3x5 pad=1x2", [4, 10, 12], 64, 2 * 15 * 4 * 10 * 12),
    ("2x9x9", "conv 1x3x3 stride=3x2 pad=0x1", [1, 3, 5], 1 * 2 * 9 + 1, 2 * 18 * 15),
    ("1x28x28", "pool 2", [1, 14, 14], 0, 4 * 196),
    ("30x24x24", "maxpool 2", [30, 12, 12], 0, 4 * 30 * 144),
    ("3x7x7", "pool 3 stride=2", [3, 3, 3], 0, 9 * 27),
    ("3x8x8", "avgpool 2", [3, 4, 4], 0, 4 * 48),
    ("2x5x5", "avgpool 3 stride=1 pad=1", [2, 5, 5], 0, 9 * 50),
    ("2x6x4", "pool 2x1", [2, 3, 4], 0, 2 * 24),
    ("30x12x12", "affine 100", [100], 4320 * 100 + 100, 2 * 4320 * 100),
    ("784", "affine 50", [50], 784 * 50 + 50, 2 * 784 * 50),
    ("4x8x8", "batchnorm", [4, 8, 8], 2 * 4, 4 * 256),        # gamma, beta per channel
    ("100", "batchnorm", [100], 2 * 100, 400),                  # per unit after a vector
    ("4x8x8", "prelu", [4, 8, 8], 4, 2 * 256),
    ("100", "prelu", [100], 100, 200),
    ("3x4x5", "flatten", [60], 0, 0),
    ("100", "dropout 0.5", [100], 0, 100),
    ("100", "relu", [100], 0, 100),
    ("10", "softmax", [10], 0, 40),
    ("2x3x3", "identity", [2, 3, 3], 0, 0),
]


@pytest.mark.parametrize("input_shape, layer, output, params, flops", TABLE, ids=[r[1] for r in TABLE])
def test_one_layer(input_shape, layer, output, params, flops):
    (step,) = netc.compile(f"input {input_shape}\n{layer}\n").layers
    assert step["output_shape"] == output
    assert step["params"] == params
    assert step["flops"] == flops


def test_batchnorm_state_is_not_a_parameter():
    (step,) = netc.compile("input 4x8x8\nbatchnorm\n").layers
    assert step["param_shapes"] == {"gamma": [4], "beta": [4]}
    assert step["state_shapes"] == {"running_mean": [4], "running_var": [4]}


def test_simpleconv():
    plan = netc.load(MODELS / "simpleconv.net")
    assert plan.total_params == 433_890
    assert plan.output_shape == (10,)
    assert [s["output_shape"] for s in plan.layers] == [
        [30, 24, 24], [30, 24, 24], [30, 12, 12], [100], [100], [10], [10]]
    assert plan.total_flops == 864_000 + 17_280 + 17_280 + 864_000 + 100 + 2_000 + 40
    assert plan.loss == "cross_entropy"


def test_deepconv_matches_the_books_weights():
    """W1..W8 as in shared/data/book-params/README.md."""
    plan = netc.load(MODELS / "deepconv.net")
    weights = [s["param_shapes"]["W"] for s in plan.layers if "W" in s["param_shapes"]]
    assert weights == [[16, 1, 3, 3], [16, 16, 3, 3], [32, 16, 3, 3], [32, 32, 3, 3],
                       [64, 32, 3, 3], [64, 64, 3, 3], [1024, 50], [50, 10]]
    assert plan.total_params == sum(w[0] * w[1] * (w[2] * w[3] if len(w) == 4 else 1) for w in weights) \
        + 16 + 16 + 32 + 32 + 64 + 64 + 50 + 10 == 123_552


@pytest.mark.parametrize("name, params, output, loss", [
    ("twolayer", 784 * 50 + 50 + 50 * 10 + 10, (10,), "cross_entropy"),
    ("mlp", 784 * 100 + 100 + 5 * (100 * 100 + 100) + 100 * 10 + 10, (10,), "cross_entropy"),
    ("threelayer", 9 + 8 + 6, (2,), "mse"),
    ("and", 3, (1,), None), ("or", 3, (1,), None), ("nand", 3, (1,), None),
    ("xor", 6 + 3, (1,), None),
    ("xor_learned", 2 * 8 + 8 + 8 + 1, (1,), "mse"),
])
def test_models(name, params, output, loss):
    plan = netc.load(MODELS / f"{name}.net")
    assert (plan.total_params, plan.output_shape, plan.loss) == (params, output, loss)


def test_defaults_are_filled_in():
    plan = netc.compile("input 784\naffine 10 -> softmax\noptimizer adam\n").data
    assert plan["optimizer"] == {"type": "adam", "lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7}
    assert plan["train"] == {"epochs": 10, "batch": 100, "eval": 1000, "shuffle": True,
                             "patience": None, "monitor": "val_loss"}
    assert plan["schedule"] is None and plan["clip"] is None
    assert (plan["weight_decay"], plan["seed"], plan["data"]) == (0, 0, None)
    assert plan["init"] == {"type": "xavier_uniform"}


def test_pool_kernel_choice(monkeypatch):
    monkeypatch.setenv("NETC_KERNELS", "numpy")  # the NumPy kernels' names
    tiled, overlapping = netc.compile("input 2x8x8\npool 2 -> pool 3 stride=1\n").layers
    assert (tiled["kernel"], overlapping["kernel"]) == ("reshape", "im2col")


def test_step_and_activation_outputs_cannot_train():
    assert netc.compile("input 2\naffine 1 -> step\n").data["trainable"] is False
    assert netc.compile("input 2\naffine 1 -> sigmoid\n").loss is None


def test_pad_same_needs_an_odd_window():
    import netc
    with pytest.raises(netc.NetcError, match="pad=same needs an odd kernel, but this one is 4 wide"):
        netc.compile("input 2x6x5\nconv 3x4x2 pad=same\n")
    assert netc.compile("input 2x6x5\nconv 3x3x5 pad=same\n").output_shape == (3, 6, 5)
