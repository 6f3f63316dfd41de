"""Initialisers: statistics on big samples, literal values, per-layer override."""
import math

import numpy as np
import pytest

from netc.compiler import lower, schema
from netc.runtime.init import INITIALISERS, initialise, sample_weights
from netc.runtime.layers import build_layer

from plans import make_step

CONV_W = (64, 16, 5, 5)  # n_in = 400, n_out = 1600
AFFINE_W = (500, 300)    # n_in = 500, n_out = 300


@pytest.mark.parametrize("shape,n_in,n_out", [(CONV_W, 400, 1600), (AFFINE_W, 500, 300)])
@pytest.mark.parametrize("spec", [{"type": "std", "std": 0.05}, {"type": "xavier"},
                                  {"type": "xavier_uniform"}, {"type": "he"}])
def test_initialiser_statistics(spec, shape, n_in, n_out):
    W = sample_weights(spec, shape, np.random.default_rng(0))
    want_std = {"std": 0.05, "xavier": math.sqrt(1 / n_in), "he": math.sqrt(2 / n_in),
                "xavier_uniform": math.sqrt(6 / (n_in + n_out)) / math.sqrt(3)}[spec["type"]]
    assert W.shape == shape
    assert abs(W.mean()) < 0.02 * want_std * 5
    assert W.std() == pytest.approx(want_std, rel=0.02)
    if spec["type"] == "xavier_uniform":
        assert np.abs(W).max() <= math.sqrt(6 / (n_in + n_out))


def test_runtime_implements_exactly_the_schemas_initialisers():
    assert set(INITIALISERS) == set(lower.INITIALISERS)
    plan_enum = schema.load("plan.schema.json")["$defs"]["init"]["properties"]["type"]["enum"]
    assert set(plan_enum) == set(INITIALISERS)


def test_unknown_type():
    with pytest.raises(ValueError, match="known: he, std"):
        sample_weights({"type": "orthogonal"}, (3, 3), np.random.default_rng(0))


def test_network_init_and_zero_bias():
    layer = build_layer(make_step("affine", (400,), units=300))
    layer.params["b"].fill(5)
    initialise(layer, layer.step, {"type": "he"}, np.random.default_rng(0))
    assert layer.params["W"].std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert layer.params["W"].dtype == np.float32 and not layer.params["b"].any()


def test_step_init_overrides_network_init():
    step = {**make_step("affine", (400,), units=300), "init": {"type": "std", "std": 0.5}}
    layer = build_layer(step)
    initialise(layer, step, {"type": "he"}, np.random.default_rng(0))
    assert layer.params["W"].std() == pytest.approx(0.5, rel=0.02)


def test_literal_wins():
    step = {**make_step("affine", (2,), units=3), "init": {"type": "he"},
            "literal": {"W": [[1, 2, 3], [4, 5, 6]], "b": [0.5, 0, -0.5]}}
    layer = build_layer(step, np.float64)
    initialise(layer, step, {"type": "std", "std": 1.0}, np.random.default_rng(0))
    assert layer.params["W"].tolist() == [[1, 2, 3], [4, 5, 6]]
    assert layer.params["b"].tolist() == [0.5, 0, -0.5]
    assert layer.params["W"].dtype == np.float64


def test_float32_and_float64_start_from_the_same_weights():
    step = make_step("conv", (3, 5, 5), filters=4)
    a, b = build_layer(step, np.float32), build_layer(step, np.float64)
    initialise(a, step, {"type": "he"}, np.random.default_rng(1))
    initialise(b, step, {"type": "he"}, np.random.default_rng(1))
    np.testing.assert_allclose(a.params["W"], b.params["W"], rtol=1e-6)
