"""The compiled (Numba) kernels against the NumPy ones they replace: random shapes,
forward and backward, float32 and float64, NaN and Inf; the compiler's choice;
gradient checks of networks that run on them. numba is a dev dependency: without
it these tests fail (at the import below), they never skip."""
import numba  # noqa: F401 - fail loudly, not skip, when the extra is missing
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netc
from netc.compiler import kernels
from netc.errors import NetcError
from netc.runtime import fast
from netc.runtime.gradcheck import gradient_check
from netc.runtime.layers import build_layer
from plans import make_step

DTYPES = [np.float32, np.float64]
# float64 products differ only in rounding order; float32 by a few ulps of the
# output's scale (the transforms add up to 16 terms; BLAS may block sums differently).
TOLERANCE = {np.float32: 2e-5, np.float64: 1e-12}


def hwnc(rng, shape, dtype):
    """A random (N, C, H, W) array in HWNC memory, the layout layers pass each other."""
    N, C, H, W = shape
    return np.ascontiguousarray(rng.standard_normal((H, W, N, C)).astype(dtype)).transpose(2, 3, 0, 1)


def assert_close(got, want, dtype, what):
    assert got.shape == want.shape and got.dtype == want.dtype, what
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=what)
    scale = max(float(np.nanmax(np.abs(want), initial=0.0)), 1.0)
    np.testing.assert_allclose(got, want, rtol=0, atol=TOLERANCE[dtype] * scale, err_msg=what)


def pair(op, input_shape, compiled, dtype, **options):
    """The NumPy layer and the compiled one for one step, with the same parameters."""
    layers = [build_layer(make_step(op, input_shape, step_kernel=k, **options), dtype)
              for k in (compiled.removeprefix("numba-"), compiled)]
    rng = np.random.default_rng(0)
    for name, p in layers[0].params.items():
        p[...] = rng.standard_normal(p.shape)
        layers[1].params[name][...] = p
    return layers


def run_both(layers, x, dout):
    """(outputs, input gradients, parameter gradients) of each layer for x and dout."""
    results = []
    for layer in layers:
        y = layer.forward(x, train=True)
        dx = layer.backward(dout)
        results.append((y.copy(), None if dx is None else dx.copy(),
                        {k: g.copy() for k, g in layer.grads.items()}))
    return results


conv_cases = st.tuples(
    st.integers(1, 5),                       # N
    st.integers(1, 9), st.integers(1, 9),    # C, F
    st.integers(1, 11), st.integers(1, 11),  # H, W
    st.integers(0, 2), st.integers(0, 2),    # PH, PW
    st.integers(1, 4),                       # chunk
    st.booleans(),                           # input_grad
)


@settings(max_examples=40, deadline=None)
@given(case=conv_cases, dtype=st.sampled_from(DTYPES))
def test_numba_winograd_matches_numpy_winograd(case, dtype):
    N, C, F, H, W, PH, PW, chunk, input_grad = case
    if H + 2 * PH < 3 or W + 2 * PW < 3:
        return  # no output
    layers = pair("conv", (C, H, W), "numba-winograd", dtype, filters=F, kernel=[3, 3],
                  pad=[PH, PW], input_grad=input_grad)
    for layer in layers:
        layer.chunk = chunk
    layers[1]._compiled.chunk = chunk
    rng = np.random.default_rng(1)
    x = hwnc(rng, (N, C, H, W), dtype)
    dout = hwnc(rng, (N, *layers[0].output_shape), dtype)
    for _ in range(2):  # reused work arrays give the same answer the second time
        (y0, dx0, g0), (y1, dx1, g1) = run_both(layers, x, dout)
        assert_close(y1, y0, dtype, "y")
        assert (dx1 is None) == (dx0 is None) == (not input_grad)
        if input_grad:
            assert_close(dx1, dx0, dtype, "dx")
        for name in g0:
            assert_close(g1[name], g0[name], dtype, name)


pool_cases = st.tuples(
    st.integers(1, 4), st.integers(1, 5),   # N, C
    st.integers(1, 3), st.integers(1, 3),   # KH, KW
    st.integers(1, 4), st.integers(1, 4),   # OH, OW
)


@settings(max_examples=40, deadline=None)
@given(case=pool_cases, op=st.sampled_from(["maxpool", "avgpool"]), relu=st.booleans(),
       dtype=st.sampled_from(DTYPES), nchw=st.booleans())
def test_numba_pool_matches_numpy_pool_bit_for_bit(case, op, relu, dtype, nchw):
    """Same operations in the same order: equal to the last bit, ties (coarse values)
    and NaN included, whatever the input's memory order."""
    N, C, KH, KW, OH, OW = case
    relu = relu and op == "maxpool"
    step = dict(window=[KH, KW], stride=[KH, KW])
    layers = []
    for kernel in ("reshape", "numba-reshape"):
        s = make_step(op, (C, OH * KH, OW * KW), step_kernel=kernel, **step)
        if relu:
            s["activation"] = "relu"
        layers.append(build_layer(s, dtype))
    rng = np.random.default_rng(2)
    x = rng.integers(-2, 3, (N, C, OH * KH, OW * KW)).astype(dtype)
    x.reshape(-1)[rng.integers(0, x.size, 2)] = np.nan
    if not nchw:
        x = np.ascontiguousarray(x.transpose(2, 3, 0, 1)).transpose(2, 3, 0, 1)
    dout = rng.integers(-2, 3, (N, C, OH, OW)).astype(dtype)
    dout.reshape(-1)[rng.integers(0, dout.size)] = np.inf
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN windows: 0 maxima share dout
        (y0, dx0, _), (y1, dx1, _) = run_both(layers, x, dout)
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(dx1, dx0)
    assert y1.dtype == dx1.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_numba_winograd_propagates_nan_and_inf_like_numpy(dtype, bad):
    layers = pair("conv", (3, 6, 6), "numba-winograd", dtype, filters=4, kernel=[3, 3], pad=[1, 1])
    rng = np.random.default_rng(3)
    x = hwnc(rng, (2, 3, 6, 6), dtype)
    x[0, 1, 2, 3] = bad
    dout = hwnc(rng, (2, 4, 6, 6), dtype)
    dout[1, 0, 5, 5] = np.nan
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf, as intended
        (y0, dx0, g0), (y1, dx1, g1) = run_both(layers, x, dout)
    assert np.isnan(y0).any() or np.isinf(y0).any()
    for got, want in [(y1, y0), (dx1, dx0), (g1["W"], g0["W"]), (g1["b"], g0["b"])]:
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
        finite = np.isfinite(want)
        np.testing.assert_allclose(got[finite], want[finite], rtol=TOLERANCE[dtype] * 100,
                                   atol=TOLERANCE[dtype] * 100)


def test_unaliased_strides():
    from netc.runtime.fast.winograd import unaliased
    assert unaliased(1024, 16) == 1040  # 1024 * 16 bytes is 4 x 4 KiB: 256 bytes off it
    assert unaliased(1000, 16) == 1000
    for count, stride in [(800, 256), (3200, 128), (7, 100), (50, 6400)]:
        got = unaliased(count, stride)
        assert count <= got <= count + 16 and min(got * stride % 4096, -got * stride % 4096) >= 256
    assert unaliased(100, 4096) == 100  # no padding of the count helps: left as it is


DEEP = """network small_deep
input 1x8x8
conv 8x3x3 pad=1 -> relu -> conv 8x3x3 pad=1 -> relu -> pool 2
  -> conv 8x3x3 pad=2 -> relu -> pool 2 -> affine 5 -> softmax
"""


def test_compiler_chooses_compiled_kernels_when_numba_is_installed(monkeypatch):
    monkeypatch.delenv("NETC_KERNELS", raising=False)
    chosen = [(s["op"], s["kernel"]) for s in netc.compile(DEEP).layers]
    assert chosen[2] == ("conv", "numba-winograd") and chosen[4] == ("maxpool", "numba-reshape")
    assert chosen[0] == ("conv", "im2col")  # one input channel: Winograd does not pay
    monkeypatch.setenv("NETC_KERNELS", "numpy")
    assert [k for _, k in chosen if k.startswith("numba-")]
    assert not [s for s in netc.compile(DEEP).layers if s["kernel"].startswith("numba-")]


def test_without_numba_the_compiler_picks_numpy_kernels(monkeypatch):
    monkeypatch.delenv("NETC_KERNELS", raising=False)
    monkeypatch.setattr(kernels, "numba_installed", lambda: False)
    assert {s["kernel"] for s in netc.compile(DEEP).layers} <= {"im2col", "winograd", "reshape",
                                                                  "reference", "fused"}
    monkeypatch.setenv("NETC_KERNELS", "numba")
    with pytest.raises(NetcError, match="numba is not installed") as error:
        netc.compile(DEEP)
    assert "netc[fast]" in error.value.hint


def test_unknown_kernel_set_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("NETC_KERNELS", "fortran")
    with pytest.raises(NetcError, match="known: auto, numpy, numba"):
        netc.compile(DEEP)


def test_a_compiled_kernel_without_numba_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(fast, "available", lambda: False)
    step = make_step("conv", (8, 6, 6), filters=8, kernel=[3, 3], pad=[1, 1],
                     step_kernel="numba-winograd")
    with pytest.raises(fast.MissingNumbaError, match="needs numba") as error:
        build_layer(step)
    assert "NETC_KERNELS=numpy" in error.value.hint


@pytest.mark.parametrize("kernel_set", ["auto", "numpy"])
def test_gradcheck_passes_on_both_kernel_sets(kernel_set, monkeypatch):
    monkeypatch.setenv("NETC_KERNELS", kernel_set)
    plan = netc.compile(DEEP + "init he\n").data
    compiled = [s for s in plan["layers"] if s["kernel"].startswith("numba-")]
    assert bool(compiled) == (kernel_set == "auto")
    rng = np.random.default_rng(4)
    worst = gradient_check(plan, rng.standard_normal((3, 1, 8, 8)), np.array([0, 3, 4]), seed=1)
    assert max(worst.values()) < 1e-5, worst


def test_networks_on_both_kernel_sets_agree(monkeypatch):
    """deepconv's layer sequence, float32, one training step each: same loss, same grads."""
    from netc.runtime.network import Network
    grads = {}
    for kernel_set in ("numpy", "auto"):
        monkeypatch.setenv("NETC_KERNELS", kernel_set)
        plan = netc.compile(DEEP + "init he\n").data
        net = Network(plan, seed=0)
        x = np.random.default_rng(5).integers(0, 256, (6, 1, 8, 8), dtype=np.uint8)
        grads[kernel_set] = net.gradient(x, np.arange(6) % 5)
    for name, g in grads["numpy"].items():
        np.testing.assert_allclose(grads["auto"][name], g, rtol=1e-4, atol=1e-6, err_msg=name)
