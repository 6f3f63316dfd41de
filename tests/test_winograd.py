"""Winograd F(2x2, 3x3): the conv kernel against naive loops, its transforms
against their adjoints, float32 rounding against float64, the compiler's choice."""
from pathlib import Path

import numpy as np
import pytest

import netc
from netc.compiler.kernels import choose_kernel
from netc.runtime import winograd
from netc.runtime.layers import LayerError, build_layer

from plans import make_step, run_conv
from test_layers import naive_conv

CASES = [  # (N, C, H, W, F, PH, PW, chunk); odd output sizes exercise the crop
    (2, 3, 5, 5, 2, 1, 1, None),
    (3, 2, 6, 7, 3, 2, 2, 2),
    (2, 4, 4, 4, 5, 0, 0, 1),
    (1, 2, 7, 6, 3, 1, 0, None),
    (3, 1, 3, 3, 2, 2, 1, 2),
]


def winograd_layer(N, C, H, W, F, PH, PW, chunk, dtype=np.float64, input_grad=True):
    step = make_step("conv", (C, H, W), filters=F, kernel=[3, 3], pad=[PH, PW],
                     step_kernel="winograd", input_grad=input_grad)
    if chunk:
        step["chunk"] = chunk
    return build_layer(step, dtype)


@pytest.mark.parametrize("case", CASES)
def test_winograd_conv_matches_loops(case):
    N, C, H, W, F, PH, PW, chunk = case
    layer = winograd_layer(*case)
    x, y, dout = run_conv(layer, (N, C, H, W))
    want = naive_conv(x, layer.params["W"], layer.params["b"], dout, 1, 1, PH, PW)
    for _ in range(2):  # reused work arrays give the same answer the second time
        dx = layer.backward(dout)
        for got, ref in zip((y, dx, layer.grads["W"], layer.grads["b"]), want):
            np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)


def test_winograd_without_input_grad_fills_param_grads():
    layer = winograd_layer(2, 3, 4, 4, 2, 1, 1, None, input_grad=False)
    y = layer.forward(np.ones((2, 3, 4, 4)), train=True)
    assert layer.backward(np.ones_like(y)) is None
    assert np.all(layer.grads["b"] == 32) and np.any(layer.grads["W"] != 0)


def test_weight_transform_adjoint():
    """<T(W), dU> == <W, T*(dU)>: the weight gradient is the transform's adjoint."""
    rng = np.random.default_rng(1)
    W, dU = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal((16, 2, 3))
    lhs = np.vdot(winograd.weight_transform(W), dU)
    assert lhs == pytest.approx(np.vdot(W, winograd.weight_transform_adjoint(dU)), rel=1e-12)


@pytest.mark.parametrize("OH,OW", [(4, 6), (5, 3)])
def test_output_tiles_adjoint(OH, OW):
    rng = np.random.default_rng(2)
    TH, TW = winograd.tile_counts(OH, OW)
    M, dy = rng.standard_normal((16, TH * TW * 2, 3)), rng.standard_normal((OH, OW, 2, 3))
    full = np.empty((2 * TH, 2 * TW, 2, 3))
    scratch = winograd.Scratch()
    winograd.output_tiles(M, full, scratch)
    dM = winograd.output_tiles_adjoint(dy, TH, TW, scratch)
    assert np.vdot(full[:OH, :OW], dy) == pytest.approx(np.vdot(M, dM), rel=1e-12)


@pytest.mark.parametrize("C,F,H,pad", [(16, 16, 28, 1), (32, 32, 14, 2), (64, 64, 8, 1)])
def test_float32_rounding(C, F, H, pad):
    """Winograd adds transforms (coefficients 1/2 and sums of up to 9 terms per
    tile) to the rounding of a direct conv. Against a float64 reference, with
    deepconv-like shapes and He-scaled weights, its error stays within 4x the
    float32 im2col kernel's and below 1e-5 of the output's scale."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, C, H, H))
    W = rng.standard_normal((F, C, 3, 3)) * np.sqrt(2 / (9 * C))
    dout = rng.standard_normal((4, F, H + 2 * pad - 2, H + 2 * pad - 2))
    ref = naive_reference(x, W, dout, pad)
    errors = {}
    for kernel in ("im2col", "winograd"):
        step = make_step("conv", (C, H, H), filters=F, kernel=[3, 3], pad=[pad, pad],
                         step_kernel=kernel)
        layer = build_layer(step, np.float32)
        layer.params["W"][...] = W
        layer.params["b"][...] = 0
        y = layer.forward(x.astype(np.float32), train=True)
        dx = layer.backward(dout.astype(np.float32))
        errors[kernel] = [np.abs(got - want).max() / np.abs(want).max()
                          for got, want in zip((y, dx, layer.grads["W"]), ref)]
    for wino, direct in zip(errors["winograd"], errors["im2col"]):
        assert wino < 1e-5
        assert wino < 4 * direct + 1e-7


def naive_reference(x, W, dout, pad):
    """(y, dx, dW) in float64 by the im2col kernel (itself checked against loops)."""
    layer = build_layer(make_step("conv", x.shape[1:], filters=W.shape[0], kernel=[3, 3],
                                  pad=[pad, pad]), np.float64)
    layer.params["W"][...] = W
    layer.params["b"][...] = 0
    y = layer.forward(x, train=True)
    return y, layer.backward(dout), layer.grads["W"].copy()


@pytest.mark.parametrize("options", [dict(kernel=[5, 5]), dict(stride=[2, 2]), dict(pad=[3, 3])])
def test_winograd_rejected_where_it_does_not_apply(options):
    step = make_step("conv", (2, 9, 9), **{"kernel": [3, 3], **options}, step_kernel="winograd")
    with pytest.raises(LayerError, match="winograd kernel needs"):
        build_layer(step)


@pytest.mark.parametrize("C,F,options,kernel", [
    (16, 16, dict(kernel=[3, 3], pad=[1, 1]), "winograd"),
    (32, 64, dict(kernel=[3, 3], pad=[2, 2]), "winograd"),
    (1, 16, dict(kernel=[3, 3], pad=[1, 1]), "im2col"),    # too few channels to pay
    (16, 4, dict(kernel=[3, 3], pad=[1, 1]), "im2col"),
    (16, 16, dict(kernel=[3, 3], stride=[2, 2], pad=[1, 1]), "im2col"),
    (16, 16, dict(kernel=[5, 5], pad=[2, 2]), "im2col"),
])
def test_compiler_chooses_winograd(C, F, options, kernel):
    step = make_step("conv", (C, 13, 13), filters=F, **options)
    assert choose_kernel(step, "numpy") == kernel
    assert step["chunk"] >= 1


def test_deepconv_plan_uses_winograd_after_the_first_conv(monkeypatch):
    monkeypatch.setenv("NETC_KERNELS", "numpy")  # the NumPy kernels' names
    plan = netc.load(Path(__file__).parent.parent / "models" / "deepconv.net").data
    kernels = [step["kernel"] for step in plan["layers"] if step["op"] == "conv"]
    assert kernels == ["im2col"] + ["winograd"] * 5


def test_winograd_reuses_work_arrays_across_batch_sizes():
    """Work arrays are cached by shape: batches of other sizes (and shorter last
    chunks) in any order still match the im2col kernel."""
    step = make_step("conv", (3, 6, 6), filters=4, kernel=[3, 3], pad=[1, 1])
    layers = {k: build_layer({**step, "kernel": k, "chunk": 2}, np.float64)
              for k in ("im2col", "winograd")}
    rng = np.random.default_rng(4)
    W = rng.standard_normal((4, 3, 3, 3))
    for layer in layers.values():
        layer.params["W"][...] = W
    for N in (5, 2, 3, 5, 1):
        x = rng.standard_normal((N, 3, 6, 6))
        dout = rng.standard_normal((N, 4, 6, 6))
        y, dx = ({k: layer.forward(x, train=True) for k, layer in layers.items()},
                 {k: layer.backward(dout) for k, layer in layers.items()})
        np.testing.assert_allclose(y["winograd"], y["im2col"], rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(dx["winograd"], dx["im2col"], rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(layers["winograd"].grads["W"], layers["im2col"].grads["W"],
                                   rtol=1e-10, atol=1e-10)
