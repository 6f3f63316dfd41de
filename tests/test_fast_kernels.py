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
# F(4x4, 3x3)'s transforms have coefficients up to 8 (and G's 1/6, 1/24): float32
# loses about ten times more than with F(2x2, 3x3) (relative 2e-6 to 4e-6 measured).
TOLERANCE_F4 = {np.float32: 1e-4, np.float64: 1e-12}
WINOGRAD = ["numba-winograd", "numba-winograd4"]


def hwnc(rng, shape, dtype):
    """A random (N, C, H, W) array in HWNC memory, the layout layers pass each other."""
    N, C, H, W = shape
    return np.ascontiguousarray(rng.standard_normal((H, W, N, C)).astype(dtype)).transpose(2, 3, 0, 1)


def assert_close(got, want, dtype, what, tolerance=TOLERANCE):
    assert got.shape == want.shape and got.dtype == want.dtype, what
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=what)
    scale = max(float(np.nanmax(np.abs(want), initial=0.0)), 1.0)
    np.testing.assert_allclose(got, want, rtol=0, atol=tolerance[dtype] * scale, err_msg=what)


def pair(op, input_shape, compiled, dtype, **options):
    """The NumPy layer and the compiled one for one step, with the same parameters
    (both Winograd kernels against NumPy's F(2x2, 3x3))."""
    numpy_kernel = "winograd" if compiled.startswith("numba-winograd") else compiled.removeprefix("numba-")
    layers = [build_layer(make_step(op, input_shape, step_kernel=k, **options), dtype)
              for k in (numpy_kernel, compiled)]
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
@given(case=conv_cases, dtype=st.sampled_from(DTYPES), kernel=st.sampled_from(WINOGRAD))
def test_numba_winograd_matches_numpy_winograd(case, dtype, kernel):
    N, C, F, H, W, PH, PW, chunk, input_grad = case
    if H + 2 * PH < 3 or W + 2 * PW < 3:
        return  # no output
    tolerance = TOLERANCE_F4 if kernel == "numba-winograd4" else TOLERANCE
    layers = pair("conv", (C, H, W), kernel, dtype, filters=F, kernel=[3, 3],
                  pad=[PH, PW], input_grad=input_grad)
    for layer in layers:
        layer.chunk = chunk
    layers[1]._compiled.block = chunk
    rng = np.random.default_rng(1)
    x = hwnc(rng, (N, C, H, W), dtype)
    dout = hwnc(rng, (N, *layers[0].output_shape), dtype)
    for _ in range(2):  # reused work arrays give the same answer the second time
        (y0, dx0, g0), (y1, dx1, g1) = run_both(layers, x, dout)
        assert_close(y1, y0, dtype, "y", tolerance)
        assert (dx1 is None) == (dx0 is None) == (not input_grad)
        if input_grad:
            assert_close(dx1, dx0, dtype, "dx", tolerance)
        for name in g0:
            assert_close(g1[name], g0[name], dtype, name, tolerance)


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
    results = nan_and_inf_results("numba-winograd", dtype, bad)
    assert np.isnan(results[0][0]).any() or np.isinf(results[0][0]).any()
    for got, want in results:
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
        finite = np.isfinite(want)
        np.testing.assert_allclose(got[finite], want[finite], rtol=TOLERANCE[dtype] * 100,
                                   atol=TOLERANCE[dtype] * 100)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_numba_winograd4_never_loses_a_nan_or_inf(dtype, bad):
    """A 4x4 tile spreads a bad input over all its 16 outputs where 2x2 tiles reach
    fewer: whatever is not finite with F(2x2, 3x3) is not finite here either, and
    what is finite in both agrees."""
    results = nan_and_inf_results("numba-winograd4", dtype, bad)
    for got, want in results:
        assert not np.isfinite(got[~np.isfinite(want)]).any()
        finite = np.isfinite(want) & np.isfinite(got)
        assert finite.any()
        np.testing.assert_allclose(got[finite], want[finite], rtol=TOLERANCE_F4[dtype] * 100,
                                   atol=TOLERANCE_F4[dtype] * 100)


def nan_and_inf_results(kernel, dtype, bad):
    """(compiled, NumPy) pairs of y, dx, dW and db for an input and an output gradient
    with a NaN or an Inf in them."""
    layers = pair("conv", (3, 6, 6), kernel, dtype, filters=4, kernel=[3, 3], pad=[1, 1])
    rng = np.random.default_rng(3)
    x = hwnc(rng, (2, 3, 6, 6), dtype)
    x[0, 1, 2, 3] = bad
    dout = hwnc(rng, (2, 4, 6, 6), dtype)
    dout[1, 0, 5, 5] = np.nan
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf, as intended
        (y0, dx0, g0), (y1, dx1, g1) = run_both(layers, x, dout)
    return [(y1, y0), (dx1, dx0), (g1["W"], g0["W"]), (g1["b"], g0["b"])]


def test_spaced_strides_keep_rows_off_4_kib_multiples():
    from netc.runtime.fast.spacing import MARGIN, spaced, work_rows
    assert spaced(1024, 4, 2) == 1040  # 4 KiB rows: 16 floats more puts them 64 bytes off
    assert spaced(1000, 4, 2) == 1000  # 4000 bytes: 96 off already
    for count, stride, rows in [(800, 4, 36), (350, 64, 36), (3200, 4, 6), (7, 100, 16), (50, 6400, 6)]:
        got = spaced(count, stride, rows)
        assert count <= got < count + 1024
        for k in range(1, rows):
            phase = k * got * stride % 4096
            assert MARGIN <= phase <= 4096 - MARGIN, (count, stride, k)
    assert spaced(100, 4096, 2) == 100  # no padding of the count helps: left as it is
    rows = work_rows(36, 800, np.zeros(1, np.float32))
    assert rows.shape[0] == 36 and rows.shape[1] >= 800 and rows.dtype == np.float32


DEEP = """network small_deep
input 1x8x8
conv 8x3x3 pad=1 -> relu -> conv 8x3x3 pad=1 -> relu -> pool 2
  -> conv 8x3x3 pad=2 -> relu -> pool 2 -> affine 5 -> softmax
"""


def test_compiler_chooses_compiled_kernels_when_numba_is_installed(monkeypatch):
    monkeypatch.delenv("NETC_KERNELS", raising=False)
    chosen = [(s["op"], s["kernel"]) for s in netc.compile(DEEP).layers]
    # 8x8 outputs: four 4x4 tiles (144 products) against sixteen 2x2 tiles (256)
    assert chosen[2] == ("conv", "numba-winograd4") and chosen[4] == ("maxpool", "numba-reshape")
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


@pytest.mark.parametrize("size, tile", [(28, 4), (8, 4), (7, 4), (3, 4), (2, 2), (1, 2)])
def test_the_compiler_takes_4x4_tiles_where_they_make_fewer_products(size, tile):
    from netc.spec.kernels import winograd_tile
    step = make_step("conv", (8, size, size), filters=8, kernel=[3, 3], pad=[1, 1])
    assert winograd_tile(step) == tile


@pytest.mark.parametrize("dtype", DTYPES)
def test_compiled_adam_matches_numpy_adam_bit_for_bit(dtype):
    from netc.runtime.optimizers import make_optimizer
    rng = np.random.default_rng(4)
    start = {"W": rng.standard_normal((30, 7)).astype(dtype), "b": rng.standard_normal(7).astype(dtype)}
    runs = []
    for compiled in (False, True):
        optimizer = make_optimizer({"type": "adam", "lr": 0.01}, compiled=compiled)
        assert (optimizer._compiled is not None) == compiled
        params = {k: v.copy() for k, v in start.items()}
        steps = np.random.default_rng(5)
        for _ in range(60):  # past the flush of tiny slot values at step 50
            optimizer.update(params, {k: steps.standard_normal(v.shape).astype(dtype) for k, v in params.items()})
        runs.append((params, optimizer.state))
    (p0, s0), (p1, s1) = runs
    for name in start:
        np.testing.assert_array_equal(p1[name], p0[name])
        np.testing.assert_array_equal(s1["m"][name], s0["m"][name])
        np.testing.assert_array_equal(s1["v"][name], s0["v"][name])
    assert not np.array_equal(p0["W"], start["W"])


def test_the_plan_records_its_kernel_set_and_training_uses_compiled_adam(monkeypatch):
    from netc.runtime.setup import TrainingSetup
    monkeypatch.delenv("NETC_KERNELS", raising=False)
    plan = netc.compile(DEEP + "optimizer adam\n")
    assert plan.data["kernels"] == "numba"
    assert TrainingSetup(plan.data).optimizer._compiled is not None
    monkeypatch.setenv("NETC_KERNELS", "numpy")
    plan = netc.compile(DEEP + "optimizer adam\n")
    assert plan.data["kernels"] == "numpy"
    assert TrainingSetup(plan.data).optimizer._compiled is None


@settings(max_examples=25, deadline=None)
@given(N=st.integers(1, 6), C=st.integers(1, 9), H=st.integers(1, 7), W=st.integers(1, 7),
       dtype=st.sampled_from(DTYPES), input_grad=st.booleans())
def test_numba_batchnorm_matches_numpy_channels_kernel(N, C, H, W, dtype, input_grad):
    layers = pair("batchnorm", (C, H, W), "numba-channels", dtype, input_grad=input_grad)
    rng = np.random.default_rng(6)
    x = hwnc(rng, (N, C, H, W), dtype) * 3 + 1
    dout = hwnc(rng, (N, C, H, W), dtype)
    # float64 sums against BLAS's float32 ones: a few ulps of the data's scale apart
    tolerance = {np.float32: 1e-5, np.float64: 1e-12}
    (y0, dx0, g0), (y1, dx1, g1) = run_both(layers, x, dout)
    assert_close(y1, y0, dtype, "y", tolerance)
    if input_grad:
        assert_close(dx1, dx0, dtype, "dx", tolerance)
    else:
        assert dx0 is None and dx1 is None
    for name in g0:
        assert_close(g1[name], g0[name], dtype, name, tolerance)
    for name in layers[0].state:
        assert_close(layers[1].state[name], layers[0].state[name], dtype, name, tolerance)
    assert_close(layers[1].forward(x), layers[0].forward(x), dtype, "inference", tolerance)


@pytest.mark.parametrize("dtype", DTYPES)
def test_winograd_without_numpys_gemm_multiplies_between_compiled_calls_the_same(dtype, monkeypatch):
    """A BLAS without the cblas names blas.py knows: np.matmul between the block kernels."""
    from netc.runtime.fast import blas, winograd
    assert blas.gemm(dtype) is not None  # NumPy's wheels have it
    rng = np.random.default_rng(8)
    x = hwnc(rng, (3, 5, 9, 7), dtype)
    W, b = rng.standard_normal((4, 5, 3, 3)).astype(dtype), rng.standard_normal(4).astype(dtype)
    results = []
    for found in (True, False):
        if not found:
            monkeypatch.setattr(blas, "gemm", lambda dtype: None)
        conv = winograd.WinogradConv(1, 1, 2, "numba-winograd4")
        y = conv.forward(x, W, b, True, relu=True)
        dx, dW, db = conv.backward(np.ones_like(y), True)
        results.append([y.copy(), dx.copy(), dW, db])
    for got, want in zip(results[1], results[0]):
        assert_close(got, want, dtype, "fallback", TOLERANCE_F4)
