"""Layers: conv and pool against naive loops; batchnorm, dropout, step, registry."""

import numpy as np
import pytest

from netc.runtime.layers import (LAYERS, LayerError, StepNotTrainableError, build_layer,
                                 register)

from netc.spec.ops import OPS
from plans import make_step, run_conv

CONV_CASES = [  # (N, C, H, W, F, KH, KW, SH, SW, PH, PW)
    (2, 1, 5, 5, 2, 3, 3, 1, 1, 0, 0),
    (2, 3, 6, 5, 4, 3, 2, 1, 1, 1, 1),
    (1, 2, 7, 9, 3, 3, 3, 2, 2, 1, 1),
    (3, 2, 8, 6, 2, 2, 3, 2, 3, 0, 0),
]
POOL_CASES = [  # (N, C, H, W, KH, KW, SH, SW, PH, PW)
    (2, 3, 4, 6, 2, 2, 2, 2, 0, 0),
    (1, 2, 5, 5, 3, 3, 2, 2, 1, 1),
    (2, 2, 6, 4, 3, 2, 1, 2, 0, 0),
    (2, 1, 7, 7, 3, 3, 2, 2, 0, 0),
]


def naive_conv(x, W, b, dout, SH, SW, PH, PW):
    """Returns (y, dx, dW, db) by explicit loops."""
    N, C, H, Wd = x.shape
    F, _, KH, KW = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)))
    OH, OW = dout.shape[2:]
    y = np.zeros((N, F, OH, OW))
    dxp, dW = np.zeros_like(xp), np.zeros_like(W)
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    hs, ws = slice(i * SH, i * SH + KH), slice(j * SW, j * SW + KW)
                    y[n, f, i, j] = np.sum(xp[n, :, hs, ws] * W[f]) + b[f]
                    dW[f] += dout[n, f, i, j] * xp[n, :, hs, ws]
                    dxp[n, :, hs, ws] += dout[n, f, i, j] * W[f]
    return y, dxp[:, :, PH:PH + H, PW:PW + Wd], dW, dout.sum(axis=(0, 2, 3))


@pytest.mark.parametrize("chunk", [None, 1, 2])  # None: the whole (small) batch at once
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_matches_loops(case, chunk):
    N, C, H, W, F, KH, KW, SH, SW, PH, PW = case
    step = make_step("conv", (C, H, W), filters=F, kernel=[KH, KW], stride=[SH, SW], pad=[PH, PW])
    if chunk:
        step["chunk"] = chunk
    layer = build_layer(step, np.float64)
    x, y, dout = run_conv(layer, (N, C, H, W))
    ref_y, ref_dx, ref_dW, ref_db = naive_conv(x, layer.params["W"], layer.params["b"],
                                              dout, SH, SW, PH, PW)
    dx = layer.backward(dout)
    for got, want in ((y, ref_y), (dx, ref_dx), (layer.grads["W"], ref_dW),
                      (layer.grads["b"], ref_db)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def naive_pool(x, dout, KH, KW, SH, SW, PH, PW, kind):
    N, C, H, W = x.shape
    pad = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (PH, PH), (PW, PW)), constant_values=pad)
    OH, OW = dout.shape[2:]
    y, dxp = np.zeros(dout.shape), np.zeros_like(xp)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    hs, ws = slice(i * SH, i * SH + KH), slice(j * SW, j * SW + KW)
                    window = xp[n, c, hs, ws]
                    if kind == "max":
                        y[n, c, i, j] = window.max()
                        a, b = np.unravel_index(window.argmax(), window.shape)
                        dxp[n, c, hs.start + a, ws.start + b] += dout[n, c, i, j]
                    else:
                        y[n, c, i, j] = window.mean()
                        dxp[n, c, hs, ws] += dout[n, c, i, j] / (KH * KW)
    return y, dxp[:, :, PH:PH + H, PW:PW + W]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", POOL_CASES)
def test_pool_matches_loops(case, kind):
    N, C, H, W, KH, KW, SH, SW, PH, PW = case
    layer = build_layer(make_step(f"{kind}pool", (C, H, W), window=[KH, KW],
                                  stride=[SH, SW], pad=[PH, PW]), np.float64)
    tiles = (KH, KW) == (SH, SW) and PH == PW == 0 and H % KH == 0 and W % KW == 0
    assert layer.kernel == ("reshape" if tiles else "im2col")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, C, H, W))
    y = layer.forward(x, train=True)
    dout = rng.standard_normal(y.shape)
    ref_y, ref_dx = naive_pool(x, dout, KH, KW, SH, SW, PH, PW, kind)
    np.testing.assert_allclose(y, ref_y, rtol=1e-12)
    np.testing.assert_allclose(layer.backward(dout), ref_dx, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", ["maxpool", "avgpool"])
def test_pool_kernels_agree(op):
    x = np.random.default_rng(2).standard_normal((2, 3, 4, 6)).astype(np.float32)
    results = []
    for kernel in ("reshape", "im2col"):
        layer = build_layer(make_step(op, (3, 4, 6), step_kernel=kernel))
        y = layer.forward(x, train=True)
        results.append((y, layer.backward(np.ones_like(y))))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_maxpool_ties_share_the_gradient():
    layer = build_layer(make_step("maxpool", (1, 2, 2)), np.float64)
    layer.forward(np.array([[[[1.0, 1.0], [0.0, 1.0]]]]), train=True)
    np.testing.assert_allclose(layer.backward(np.array([[[[3.0]]]])),
                               [[[[1.0, 1.0], [0.0, 1.0]]]])


def test_reshape_kernel_rejected_when_windows_overlap():
    with pytest.raises(LayerError, match="reshape kernel"):
        build_layer(make_step("maxpool", (1, 5, 5), window=[3, 3], stride=[2, 2],
                              step_kernel="reshape"))


def test_batchnorm_inference_uses_running_statistics():
    layer = build_layer(make_step("batchnorm", (2, 1, 2), momentum=0.5, eps=0.0), np.float64)
    layer.params["gamma"][...] = [2.0, 3.0]
    layer.params["beta"][...] = [0.5, -1.0]
    x = np.array([[[[1.0, 3.0]], [[0.0, 4.0]]], [[[5.0, 7.0]], [[2.0, 2.0]]]])
    layer.forward(x, train=True)
    batch_mean, batch_var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(layer.state["running_mean"], 0.5 * batch_mean)
    np.testing.assert_allclose(layer.state["running_var"], 0.5 + 0.5 * batch_var)
    y = layer.forward(x, train=False)
    rm = layer.state["running_mean"].reshape(1, 2, 1, 1)
    rv = layer.state["running_var"].reshape(1, 2, 1, 1)
    want = np.array([2.0, 3.0]).reshape(1, 2, 1, 1) * (x - rm) / np.sqrt(rv) \
        + np.array([0.5, -1.0]).reshape(1, 2, 1, 1)
    np.testing.assert_allclose(y, want)


def test_batchnorm_train_normalises_per_unit():
    layer = build_layer(make_step("batchnorm", (3,)), np.float64)
    x = np.random.default_rng(3).standard_normal((50, 3)) * 4 + 2
    y = layer.forward(x, train=True)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), 1, atol=1e-5)


def test_dropout_book_form():
    layer = build_layer(make_step("dropout", (1000,), ratio=0.3),
                        rng=np.random.default_rng(0))
    x = np.ones((10, 1000), np.float32)
    y = layer.forward(x, train=True)
    assert set(np.unique(y)) <= {0.0, 1.0}  # kept units are not rescaled
    assert abs(y.mean() - 0.7) < 0.01
    np.testing.assert_array_equal(layer.backward(np.full_like(x, 2.0)), 2.0 * y)
    np.testing.assert_allclose(layer.forward(x, train=False), 0.7)


def test_dropout_inverted():
    layer = build_layer(make_step("dropout", (1000,), ratio=0.25, inverted=True),
                        rng=np.random.default_rng(0))
    x = np.ones((10, 1000), np.float32)
    y = layer.forward(x, train=True)
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.75], rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.02
    np.testing.assert_array_equal(layer.backward(x), y)
    assert layer.forward(x, train=False) is x


def test_step_forward_and_untrainable_backward():
    layer = build_layer(make_step("step", (3,)))
    y = layer.forward(np.array([[-1.0, 0.0, 2.0]], np.float32), train=True)
    np.testing.assert_array_equal(y, [[0, 0, 1]])
    assert y.dtype == np.float32
    with pytest.raises(RuntimeError, match="step cannot be trained"):
        layer.backward(np.ones_like(y))
    assert issubclass(StepNotTrainableError, RuntimeError)


def test_sigmoid_is_stable_for_large_inputs():
    layer = build_layer(make_step("sigmoid", (3,)))
    with np.errstate(all="raise"):
        y = layer.forward(np.array([[-1000.0, 0.0, 1000.0]], np.float32))
    np.testing.assert_allclose(y, [[0.0, 0.5, 1.0]])


def test_softmax_layer_is_stable():
    y = build_layer(make_step("softmax", (3,))).forward(np.array([[1000.0, 1000.0, -1000.0]], np.float32))
    np.testing.assert_allclose(y, [[0.5, 0.5, 0.0]])


@pytest.mark.parametrize("op", sorted(LAYERS))
def test_float32_stays_float32(op):
    shape = (4,) if op in ("affine", "softmax") else (2, 4, 4)
    join = OPS[op].join
    layer = build_layer(make_step(op, [shape, shape] if join else shape), np.float32, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((2, *shape)).astype(np.float32)
    y = layer.forward([x, x] if join else x, train=True)
    assert y.dtype == np.float32
    if op != "step":
        dx = layer.backward(np.ones_like(y))
        assert all(d.dtype == np.float32 for d in (dx if join else [dx]))
        assert all(g.dtype == np.float32 for g in layer.grads.values())


def test_registry_rejects_duplicates_and_lists_known_ops():
    with pytest.raises(LayerError, match="already registered"):
        register(LAYERS["relu"])
    with pytest.raises(LayerError, match="known ops: .*affine.*conv"):
        build_layer({"op": "lstm", "input_shape": [3], "output_shape": [3]})


def test_initial_values_of_params_and_state():
    bn = build_layer(make_step("batchnorm", (2, 3, 3)))
    assert bn.params["gamma"].tolist() == [1, 1] and bn.params["beta"].tolist() == [0, 0]
    assert bn.state["running_mean"].tolist() == [0, 0]
    assert bn.state["running_var"].tolist() == [1, 1]
    assert build_layer(make_step("prelu", (3,), init=0.1)).params["alpha"].tolist() == \
        pytest.approx([0.1] * 3)
    conv = build_layer(make_step("conv", (3, 5, 5), filters=4, kernel=[3, 2]))
    assert conv.params["W"].shape == (4, 3, 3, 2) and not conv.params["W"].any()
