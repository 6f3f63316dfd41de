"""Gradient checks: one checker parametrised over the layer registry, float64."""

import numpy as np
import pytest

from netc.runtime.gradcheck import gradient_check, relative_error
from netc.runtime.layers import LAYERS, StepNotTrainableError, build_layer
from plans import make_plan, make_step

EPS = 1e-6
TOLERANCE = 1e-5

# op -> [(batch, input_shape, options)]; every registered op needs an entry.
CASES = {
    "conv": [(2, (2, 5, 5), dict(filters=3, kernel=[3, 3], pad=[1, 1])),
             (1, (3, 6, 5), dict(filters=2, kernel=[2, 3], stride=[2, 1], pad=[0, 1])),
             (2, (1, 7, 7), dict(filters=2, kernel=[3, 3], stride=[2, 2], pad=[1, 1])),
             (2, (2, 5, 5), dict(filters=3, kernel=[3, 3], pad=[1, 1], step_kernel="winograd")),
             (1, (3, 5, 6), dict(filters=2, kernel=[3, 3], pad=[2, 0], step_kernel="winograd"))],
    "maxpool": [(2, (2, 4, 6), dict(step_kernel="reshape")),
                (1, (3, 5, 5), dict(window=[3, 3], stride=[2, 2], pad=[1, 1])),
                (2, (2, 6, 4), dict(window=[3, 2], stride=[1, 2]))],
    "avgpool": [(2, (2, 4, 6), dict(step_kernel="reshape")),
                (1, (3, 5, 5), dict(window=[3, 3], stride=[2, 2], pad=[1, 1])),
                (2, (2, 6, 4), dict(window=[3, 2], stride=[1, 2]))],
    "affine": [(2, (2, 3, 3), dict(units=4)), (1, (5,), dict(units=3))],
    "flatten": [(2, (2, 3, 3), {})],
    "batchnorm": [(4, (3, 2, 2), {}), (5, (4,), {})],
    "dropout": [(3, (2, 3, 3), dict(inverted=False)), (3, (6,), dict(inverted=True))],
    "softmax": [(3, (4,), {}), (1, (5,), {})],
    # joins: input_shape lists one shape per input
    "add": [(2, [(2, 3, 3), (2, 3, 3)], {}), (3, [(4,), (4,), (4,)], {})],
    "concat": [(2, [(2, 3, 3), (1, 3, 3), (3, 3, 3)], {}), (3, [(4,), (2,)], {})],
}
ELEMENTWISE = ("relu", "sigmoid", "tanh", "step", "leaky_relu", "prelu", "elu", "identity")
for _op in ELEMENTWISE:
    CASES[_op] = [(2, (2, 3, 3), {}), (1, (5,), {}), (3, (4,), dict(alpha=0.2) if _op in ("leaky_relu", "elu") else {})]


def spread_input(rng, shape):
    """Distinct values in (-1, 1), none within 1/size of 0 or of each other.

    Keeps central differences away from the relu kink and max-pool ties.
    """
    size = int(np.prod(shape))
    ranks = rng.permutation(size) + 0.5
    x = ranks / size * 2 - 1
    x[np.abs(x) < 0.5 / size] = 0.5 / size
    return x.reshape(shape)


def numeric_gradient(f, array):
    grad = np.zeros_like(array)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + EPS
        plus = f()
        flat[i] = original - EPS
        minus = f()
        flat[i] = original
        gflat[i] = (plus - minus) / (2 * EPS)
    return grad


def all_cases():
    return [(op, i) for op in sorted(LAYERS) for i in range(len(CASES.get(op, [None])))]


@pytest.mark.parametrize("op,case", all_cases())
def test_layer_gradients(op, case):
    assert op in CASES, f"registered layer {op!r} has no gradient-check case"
    N, in_shape, options = CASES[op][case]
    rng = np.random.default_rng(case)
    layer = build_layer(make_step(op, in_shape, **options), np.float64, np.random.default_rng(7))
    for p in layer.params.values():
        p[...] = rng.uniform(0.5, 1.5, p.shape) * rng.choice([-1, 1], p.shape)
    join = "input_shapes" in layer.step
    xs = [spread_input(rng, (N, *shape)) for shape in (in_shape if join else [in_shape])]
    x = xs if join else xs[0]
    r = rng.standard_normal((N, *layer.output_shape))
    rng_state = layer.rng.bit_generator.state

    def loss():  # L = sum(y * r); the same dropout mask on every call
        layer.rng.bit_generator.state = rng_state
        return float(np.sum(layer.forward(x, train=True) * r))

    loss()
    if op == "step":
        with pytest.raises(StepNotTrainableError, match="cannot be trained"):
            layer.backward(r)
        return
    r_before = r.copy()
    dx = layer.backward(r)
    np.testing.assert_array_equal(r, r_before)  # backward never mutates dout
    analytic = {name: g.copy() for name, g in layer.grads.items()}
    for d, x_k in zip(dx if join else [dx], xs):
        assert d.shape == x_k.shape and d.dtype == np.float64
        assert relative_error(d, numeric_gradient(loss, x_k)).max() < TOLERANCE
    for name, p in layer.params.items():
        err = relative_error(analytic[name], numeric_gradient(loss, p)).max()
        assert err < TOLERANCE, f"{op}.{name}: relative error {err:.2e}"


@pytest.mark.parametrize("op", ["conv", "affine", "prelu", "batchnorm"])
def test_no_input_grad_still_fills_param_grads(op):
    in_shape = (2, 4, 4)
    rng = np.random.default_rng(0)
    layer = build_layer(make_step(op, in_shape, input_grad=False), np.float64, rng)
    x = spread_input(rng, (2, *in_shape))
    y = layer.forward(x, train=True)
    assert layer.backward(np.ones_like(y)) is None
    assert all(np.any(g != 0) for name, g in layer.grads.items() if name != "gamma")


def test_network_gradient_check_with_dropout_and_batchnorm():
    plan = make_plan([2, 6, 6], [
        ("conv", dict(filters=3, kernel=[3, 3], pad=[1, 1])),
        ("batchnorm", {}), ("relu", {}),
        ("maxpool", dict(window=[2, 2], stride=[2, 2])),
        ("affine", dict(units=5)), ("prelu", {}), ("dropout", dict(ratio=0.3)),
        ("affine", dict(units=3)), ("softmax", {})],
        init={"type": "he"}, weight_decay=0.1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 2, 6, 6))
    t = np.array([0, 1, 2, 1])
    worst = gradient_check(plan, x, t, seed=3)
    assert set(worst) == {"0.conv.W", "0.conv.b", "1.batchnorm.gamma", "1.batchnorm.beta",
                          "4.affine.W", "4.affine.b", "5.prelu.alpha",
                          "7.affine.W", "7.affine.b"}
    assert max(worst.values()) < 1e-4, worst


def test_network_gradient_check_mse():
    plan = make_plan([3], [("affine", dict(units=4)), ("tanh", {}),
                           ("affine", dict(units=2)), ("identity", {})],
                     loss="mse", init={"type": "xavier"}, weight_decay=0.01)
    rng = np.random.default_rng(1)
    worst = gradient_check(plan, rng.standard_normal((5, 3)), rng.standard_normal((5, 2)))
    assert max(worst.values()) < 1e-5, worst
