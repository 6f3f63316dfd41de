"""Network: built from a hand-written plan; naming, weight decay, training."""

import numpy as np
import pytest

from netc.runtime.network import Network, NetworkError
from netc.runtime.optimizers import make_optimizer

from plans import make_plan


def conv_plan(**kwargs):
    return make_plan([1, 6, 6], [
        ("conv", dict(filters=4, kernel=[3, 3], pad=[1, 1])), ("relu", {}),
        ("maxpool", dict(window=[2, 2], stride=[2, 2])),
        ("batchnorm", {}), ("affine", dict(units=8)), ("relu", {}),
        ("dropout", dict(ratio=0.2, inverted=True)),
        ("affine", dict(units=3)), ("softmax", {})], **kwargs)


def test_parameter_and_state_names_reference_live_arrays():
    net = Network(conv_plan())
    assert list(net.params) == ["0.conv.W", "0.conv.b", "3.batchnorm.gamma", "3.batchnorm.beta",
                                "4.affine.W", "4.affine.b", "7.affine.W", "7.affine.b"]
    assert list(net.state) == ["3.batchnorm.running_mean", "3.batchnorm.running_var"]
    assert list(net.grads) == list(net.params)
    assert net.params["0.conv.W"] is net.layers[0].params["W"]
    assert net.params["4.affine.W"].shape == (36, 8)
    assert all(p.dtype == np.float32 for p in net.params.values())


def test_seed_controls_initialisation():
    a, b, c = Network(conv_plan(seed=5)), Network(conv_plan(seed=5)), Network(conv_plan(seed=5), seed=6)
    np.testing.assert_array_equal(a.params["0.conv.W"], b.params["0.conv.W"])
    assert not np.array_equal(a.params["0.conv.W"], c.params["0.conv.W"])


def test_forward_predict_and_uint8_input():
    net = Network(conv_plan())
    x = np.random.default_rng(0).integers(0, 256, (7, 1, 6, 6), dtype=np.uint8)
    y = net.predict(x, batch_size=3)
    assert y.shape == (7, 3) and y.dtype == np.float32
    np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(y, net.forward(x.astype(np.float32) / 255), rtol=1e-5)
    with pytest.raises(ValueError, match="does not match"):
        net.forward(np.zeros((2, 1, 5, 5), np.float32))


def test_weight_decay_in_loss_and_grads():
    plan = make_plan([4], [("affine", dict(units=3)), ("prelu", {}), ("affine", dict(units=2)),
                           ("softmax", {})], init={"type": "he"})
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((5, 4)), np.array([0, 1, 1, 0, 1])
    plain = Network(plan, dtype=np.float64)
    decayed = Network({**plan, "weight_decay": 0.3}, dtype=np.float64)
    squares = sum(np.sum(plain.params[n] ** 2) for n in ("0.affine.W", "2.affine.W"))
    assert decayed.loss(x, t) == pytest.approx(plain.loss(x, t) + 0.15 * squares)
    g_plain = {k: v.copy() for k, v in plain.gradient(x, t).items()}
    g_decayed = decayed.gradient(x, t)
    for name in g_plain:
        extra = 0.3 * plain.params[name] if name.endswith("affine.W") else 0
        np.testing.assert_allclose(g_decayed[name], g_plain[name] + extra, rtol=1e-12)


def test_network_without_loss_runs_but_does_not_train():
    plan = make_plan([3], [("affine", dict(units=2)), ("step", {})], loss=None)
    net = Network(plan)
    assert net.forward(np.ones((1, 3), np.float32)).shape == (1, 2)
    with pytest.raises(NetworkError, match="has no loss"):
        net.loss(np.ones((1, 3)), np.zeros(1, int))
    with pytest.raises(NetworkError, match="has no loss"):
        net.gradient(np.ones((1, 3)), np.zeros(1, int))


def test_overfits_a_tiny_set():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 1, 6, 6)).astype(np.float32)
    t = rng.integers(0, 3, 20)
    net = Network(conv_plan(init={"type": "he"}))
    optimizer = make_optimizer({"type": "adam", "lr": 0.01})
    losses = [net.train_step(x, t, optimizer) for _ in range(300)]
    assert losses[-1] < 0.05 < losses[0]
    assert (net.predict(x).argmax(axis=1) == t).all()


def test_mse_regression_trains():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 2)).astype(np.float32)
    t = np.stack([x[:, 0] * x[:, 1], np.sin(x[:, 0])], axis=1)
    plan = make_plan([2], [("affine", dict(units=16)), ("tanh", {}), ("affine", dict(units=2)),
                           ("identity", {})], loss="mse", init={"type": "xavier"})
    net = Network(plan)
    optimizer = make_optimizer({"type": "momentum", "lr": 0.1})
    first = net.loss(x, t)
    for _ in range(300):
        last = net.train_step(x, t, optimizer)
    assert last < 0.1 * first


def _lane_plan():
    return make_plan([1, 8, 8], [("conv", {"filters": 3, "kernel": [3, 3], "pad": [1, 1]}),
                                 ("relu", {}), ("maxpool", {"window": [2, 2], "stride": [2, 2]}),
                                 ("affine", {"units": 6}), ("dropout", {"ratio": 0.5}),
                                 ("affine", {"units": 4}), ("softmax", {})], init={"type": "he"})


@pytest.mark.parametrize("count", [2, 3])
def test_lanes_give_the_single_lane_gradients(monkeypatch, count):
    """A batch split across lanes: same loss, same dropout masks, summed gradients."""
    from netc.runtime import lanes
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((17, 1, 8, 8)), rng.integers(0, 4, 17)
    results = []
    for lane_count in (1, count):
        monkeypatch.setattr(lanes, "lane_count", lambda rows, flops: lane_count)
        monkeypatch.setattr(lanes, "_blas", lambda: None if lane_count == 1 else _NoLimit())
        net = Network(_lane_plan(), dtype=np.float64)
        assert net.lane_count(17) == lane_count
        value, grads = net._loss_and_grads(x, t)
        results.append((value, {k: g.copy() for k, g in grads.items()}, net.forward(x)))
    (v1, g1, y1), (v2, g2, y2) = results
    assert v1 == pytest.approx(v2, rel=1e-12)
    np.testing.assert_allclose(y1, y2, rtol=1e-12)
    for name in g1:
        np.testing.assert_allclose(g1[name], g2[name], rtol=1e-10, atol=1e-14)


class _NoLimit:
    def limit(self, limits):
        import contextlib
        return contextlib.nullcontext()


def test_batchnorm_networks_train_in_one_lane(monkeypatch):
    from netc.runtime import lanes
    monkeypatch.setattr(lanes, "lane_count", lambda rows, flops: 2)
    plan = make_plan([4], [("affine", {"units": 3}), ("batchnorm", {}), ("affine", {"units": 2}),
                           ("softmax", {})])
    assert Network(plan).lane_count(64, train=True) == 1
