"""relu -> maxpool and conv -> relu fusion: the compiler marks them, the runtime gives
the same numbers."""
import copy

import numpy as np
import pytest

import netc
from netc.runtime.network import Network

FUSABLE = "input 3x8x8\nconv 4x3x3 pad=1 -> relu -> pool 2 -> affine 5 -> softmax\n"


def kernels(text):
    return [(step["op"], step["kernel"], step.get("activation"))
            for step in netc.compile(text).layers]


def test_relu_before_a_reshape_maxpool_is_fused(monkeypatch):
    monkeypatch.setenv("NETC_KERNELS", "numpy")  # the NumPy kernels' names
    assert kernels(FUSABLE)[1:3] == [("relu", "fused", None), ("maxpool", "reshape", "relu")]


@pytest.mark.parametrize("chain", [
    "relu -> pool 3 stride=1",      # overlapping windows: the im2col kernel
    "relu -> avgpool 2",            # the mean does not commute with relu
    "sigmoid -> pool 2",
    "relu -> dropout 0.5 -> pool 2",
])
def test_other_pairs_are_not_fused(chain):
    found = kernels(f"input 2x6x6\n{chain} -> affine 2 -> softmax\n")
    assert "fused" not in [kernel for _, kernel, _ in found]
    assert all(activation is None for *_, activation in found)


def unfused(plan: dict) -> dict:
    plan = copy.deepcopy(plan)
    for step in plan["layers"]:
        if step["kernel"] == "fused":
            step["kernel"] = "reference"
        step.pop("activation", None)
    return plan


def test_fused_and_unfused_agree_bit_for_bit_with_ties():
    plan = netc.compile(FUSABLE).data
    fused, plain = Network(plan, seed=1, dtype=np.float64), Network(unfused(plan), seed=1, dtype=np.float64)
    rng = np.random.default_rng(0)
    # Coarse values make equal maxima within windows common; negative ones
    # make windows whose max is <= 0 (relu zeroes them and their gradient).
    x = rng.integers(-2, 3, (6, 3, 8, 8)).astype(np.float64)
    t = rng.integers(0, 5, 6)
    for name, value in fused.params.items():
        value[...] = np.round(value * 4) / 4  # equal weights, so equal sums, so ties
        plain.params[name][...] = value
    np.testing.assert_array_equal(fused.forward(x), plain.forward(x))
    grads_fused, grads_plain = fused.gradient(x, t), plain.gradient(x, t)
    for name in grads_plain:
        np.testing.assert_array_equal(grads_fused[name], grads_plain[name], err_msg=name)
    pooled = fused.layers[2]
    inputs, maxima = pooled._saved
    ties = sum(tile == maxima for tile in pooled._tiles(inputs)) > 1
    # every case was exercised: windows with max <= 0, and positive maxima shared by several inputs
    assert (maxima <= 0).any() and (ties & (maxima > 0)).any()


CONV_RELU = "input 8x6x6\nconv 8x3x3 pad=1 -> relu -> conv 8x3x3 pad=1 -> relu -> affine 5 -> softmax\n"


@pytest.mark.parametrize("kernel_set", ["numpy", "numba"])
def test_relu_after_a_conv_is_fused_into_it(monkeypatch, kernel_set):
    monkeypatch.setenv("NETC_KERNELS", kernel_set)
    found = kernels(CONV_RELU)
    assert [(op, kernel == "fused", activation) for op, kernel, activation in found[:4]] == [
        ("conv", False, "relu"), ("relu", True, None), ("conv", False, "relu"), ("relu", True, None)]
    # a pool after the relu takes it first; a conv read twice keeps its relu apart
    assert kernels(FUSABLE)[0][2] is None
    graph = "input 8x6x6\nx = input -> conv 8x3x3 pad=1\ny = x -> relu\nadd x y -> affine 2 -> softmax\n"
    assert "fused" not in [kernel for _, kernel, _ in kernels(graph)]
    monkeypatch.setenv("NETC_KERNELS", "reference")
    assert "fused" not in [kernel for _, kernel, _ in kernels(CONV_RELU)]


@pytest.mark.parametrize("kernel_set", ["numpy", "numba"])
@pytest.mark.parametrize("channels", [8, 1])  # Winograd kernels; im2col (one channel in)
def test_conv_relu_fused_and_unfused_agree_bit_for_bit(monkeypatch, kernel_set, channels):
    monkeypatch.setenv("NETC_KERNELS", kernel_set)
    plan = netc.compile(CONV_RELU.replace("input 8x6x6", f"input {channels}x6x6")).data
    first = "im2col" if channels == 1 else "winograd"
    assert first in plan["layers"][0]["kernel"]
    fused, plain = Network(plan, seed=1, dtype=np.float64), Network(unfused(plan), seed=1, dtype=np.float64)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, channels, 6, 6))
    x[0, 0, 0, 0] = np.nan  # relu keeps a NaN as NaN, fused or not
    t = rng.integers(0, 5, 5)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(fused.forward(x), plain.forward(x))
        grads_fused, grads_plain = fused.gradient(x, t), plain.gradient(x, t)
    for name in grads_plain:
        np.testing.assert_array_equal(grads_fused[name], grads_plain[name], err_msg=name)
    conv = fused.layers[0]
    assert conv.relu and (conv._y == 0).any() and (conv._y > 0).any()
