"""Every kernel against the op's book-level reference kernel, on random shapes,
forward and backward; and whole models on --kernels reference."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import netc
from netc.runtime.layers import KERNELS, LAYERS, build_layer
from netc.runtime.network import Network
from netc.spec.ops import OPS
from plans import make_step

TOL = dict(rtol=1e-9, atol=1e-9)


def test_every_kernel_of_the_table_has_an_implementation():
    for word, op in OPS.items():
        assert "reference" in op.kernels, word
        for kernel in op.kernels:
            if kernel == "fused":
                continue
            assert (word, kernel) in KERNELS or kernel in LAYERS[word].kernels, (word, kernel)


def _same_weights(layers, rng):
    for name, value in layers[0].params.items():
        fresh = rng.standard_normal(value.shape)
        for layer in layers:
            layer.params[name][...] = fresh


def _compare(op, in_shape, N, kernels, rng, **options):
    steps = [make_step(op, in_shape, step_kernel=k, **options) for k in ("reference", *kernels)]
    layers = [build_layer(step, np.float64) for step in steps]
    _same_weights(layers, rng)
    x = rng.standard_normal((N, *in_shape))
    if op == "maxpool":
        x = np.round(x, 1)      # ties, which share the gradient the same way in every kernel
    outs = [layer.forward(x, train=True) for layer in layers]
    dout = rng.standard_normal(outs[0].shape)
    grads = [layer.backward(dout) for layer in layers]
    for kernel, layer, out, dx in zip(kernels, layers[1:], outs[1:], grads[1:]):
        np.testing.assert_allclose(out, outs[0], **TOL, err_msg=f"{op} {kernel} forward")
        np.testing.assert_allclose(dx, grads[0], **TOL, err_msg=f"{op} {kernel} input gradient")
        for name, g in layer.grads.items():
            np.testing.assert_allclose(g, layers[0].grads[name], **TOL, err_msg=f"{op} {kernel} {name}")


def _input_side(out, K, S, P):
    """An input size whose windowed output is exactly `out`."""
    return (out - 1) * S + K - 2 * P


windows = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(0, 1), st.integers(1, 3), st.integers(1, 3))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), windows, st.integers(0, 2 ** 16))
def test_conv_im2col_against_reference(N, C, F, window, seed):
    K, S, P, OH, OW = window
    H, W = _input_side(OH, K, S, P), _input_side(OW, K, S, P)
    assume(H >= 1 and W >= 1)
    _compare("conv", (C, H, W), N, ["im2col"], np.random.default_rng(seed),
             filters=F, kernel=[K, K], stride=[S, S], pad=[P, P])


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9), st.integers(3, 7), st.integers(0, 2),
       st.integers(0, 2 ** 16))
def test_conv_winograd_against_reference(N, C, F, H, P, seed):
    _compare("conv", (C, H, H + 1), N, ["winograd", "im2col"], np.random.default_rng(seed),
             filters=F, kernel=[3, 3], stride=[1, 1], pad=[P, P])


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["maxpool", "avgpool"]), st.integers(1, 3), st.integers(1, 3), windows,
       st.integers(0, 2 ** 16))
def test_pooling_against_reference(op, N, C, window, seed):
    K, S, P, OH, OW = window
    assume(2 * P <= K)      # no window of padding alone
    H, W = _input_side(OH, K, S, P), _input_side(OW, K, S, P)
    assume(H >= 1 and W >= 1)
    _compare(op, (C, H, W), N, ["im2col"], np.random.default_rng(seed),
             window=[K, K], stride=[S, S], pad=[P, P])


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(["maxpool", "avgpool"]), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 3), st.integers(0, 2 ** 16))
def test_tiled_pooling_against_reference(op, N, C, K, tiles, seed):
    size = K * tiles
    _compare(op, (C, size, size + K), N, ["reshape", "im2col"], np.random.default_rng(seed),
             window=[K, K], stride=[K, K], pad=[0, 0])


def test_reference_kernels_keep_float32():
    layer = build_layer(make_step("conv", (2, 5, 5), step_kernel="reference"), np.float32)
    y = layer.forward(np.ones((2, 2, 5, 5), np.float32), train=True)
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


@pytest.mark.parametrize("model", ["simpleconv", "deepconv", "resnet", "inception"])
def test_a_model_on_reference_kernels_computes_what_the_fast_one_does(model):
    fast = netc.load(f"models/{model}.net")
    slow = netc.load(f"models/{model}.net", kernels="reference")
    assert {s["kernel"] for s in slow.layers} == {"reference"}
    x = np.random.default_rng(0).random((4, 1, 28, 28))
    a = Network(fast.data, dtype=np.float64).forward(x)
    b = Network(slow.data, dtype=np.float64).forward(x)
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 5), st.integers(1, 6), st.integers(1, 5), st.integers(1, 5), st.booleans(),
       st.integers(0, 2 ** 16))
def test_channels_last_batchnorm_against_reference(N, C, H, W, hwnc, seed):
    rng = np.random.default_rng(seed)
    steps = [make_step("batchnorm", (C, H, W), step_kernel=k) for k in ("reference", "channels")]
    layers = [build_layer(step, np.float64) for step in steps]
    _same_weights(layers, rng)
    x = rng.standard_normal((N, C, H, W))
    if hwnc:   # a conv's output layout, which the kernel reads without a copy
        x = np.ascontiguousarray(x.transpose(2, 3, 0, 1)).transpose(2, 3, 0, 1)
    ref, fast = layers
    np.testing.assert_allclose(fast.forward(x, train=True), ref.forward(x, train=True), **TOL)
    dout = rng.standard_normal(x.shape)
    np.testing.assert_allclose(fast.backward(dout), ref.backward(dout), **TOL)
    for name in ref.grads:
        np.testing.assert_allclose(fast.grads[name], ref.grads[name], **TOL)
    for name in ref.state:
        np.testing.assert_allclose(fast.state[name], ref.state[name], **TOL)
    np.testing.assert_allclose(fast.forward(x), ref.forward(x), **TOL)
