"""Optimizers: two steps of each against the update computed by hand."""
import numpy as np
import pytest

from netc.runtime.optimizers import OPTIMIZERS, OptimizerError, make_optimizer

G1 = np.array([0.5, -1.0, 2.0])
G2 = np.array([-0.25, 0.5, 1.0])
P0 = np.array([1.0, 2.0, -3.0])


def by_hand(kind, h):
    """Two updates from P0 with G1 then G2, written out without loops or state."""
    lr = h["lr"]
    if kind == "sgd":
        return P0 - lr * G1 - lr * G2
    if kind == "momentum":
        m = h["momentum"]
        v1 = -lr * G1
        v2 = m * v1 - lr * G2
        return P0 + v1 + v2
    if kind == "nesterov":
        m = h["momentum"]
        v1 = -lr * G1
        p1 = P0 + m * m * v1 - (1 + m) * lr * G1
        v2 = m * v1 - lr * G2
        return p1 + m * m * v2 - (1 + m) * lr * G2
    if kind == "adagrad":
        h1 = G1 ** 2
        p1 = P0 - lr * G1 / (np.sqrt(h1) + h["eps"])
        h2 = h1 + G2 ** 2
        return p1 - lr * G2 / (np.sqrt(h2) + h["eps"])
    if kind == "rmsprop":
        d = h["decay"]
        h1 = (1 - d) * G1 ** 2
        p1 = P0 - lr * G1 / (np.sqrt(h1) + h["eps"])
        h2 = d * h1 + (1 - d) * G2 ** 2
        return p1 - lr * G2 / (np.sqrt(h2) + h["eps"])
    if kind == "adam":
        b1, b2, eps = h["beta1"], h["beta2"], h["eps"]
        m1, v1 = (1 - b1) * G1, (1 - b2) * G1 ** 2
        p1 = P0 - lr * (m1 / (1 - b1)) / (np.sqrt(v1 / (1 - b2)) + eps)
        m2, v2 = b1 * m1 + (1 - b1) * G2, b2 * v1 + (1 - b2) * G2 ** 2
        return p1 - lr * (m2 / (1 - b1 ** 2)) / (np.sqrt(v2 / (1 - b2 ** 2)) + eps)
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_two_steps_match_hand_computation(kind):
    optimizer = make_optimizer({"type": kind, "lr": 0.1})
    p = P0.copy()
    params = {"0.affine.W": p}
    optimizer.update(params, {"0.affine.W": G1})
    optimizer.update(params, {"0.affine.W": G2})
    assert params["0.affine.W"] is p  # updated in place
    np.testing.assert_allclose(p, by_hand(kind, optimizer.hyper), rtol=1e-12)


def test_defaults():
    assert make_optimizer({"type": "adam"}).hyper == {
        "lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7}
    assert make_optimizer({"type": "adagrad"}).hyper == {"lr": 0.01, "eps": 1e-7}
    assert make_optimizer({"type": "momentum"}).hyper == {"lr": 0.01, "momentum": 0.9}


@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_state_dict_round_trip_continues_identically(kind):
    a = make_optimizer({"type": kind, "lr": 0.1})
    pa = {"w": P0.astype(np.float32)}
    a.update(pa, {"w": G1.astype(np.float32)})
    state = a.state_dict()
    assert all(type(v) is np.ndarray for v in state.values()) and int(state["step"]) == 1
    b = make_optimizer({"type": kind, "lr": 0.1})
    b.load_state_dict(state)
    pb = {"w": pa["w"].copy()}
    a.update(pa, {"w": G2.astype(np.float32)})
    b.update(pb, {"w": G2.astype(np.float32)})
    np.testing.assert_array_equal(pa["w"], pb["w"])
    assert pa["w"].dtype == np.float32


def test_validation():
    with pytest.raises(OptimizerError, match="known: sgd"):
        make_optimizer({"type": "lbfgs"})
    with pytest.raises(OptimizerError, match="unknown option"):
        make_optimizer({"type": "sgd", "momentum": 0.9})
    with pytest.raises(OptimizerError, match="out of range"):
        make_optimizer({"type": "momentum", "momentum": 1.5})
    with pytest.raises(OptimizerError, match="out of range"):
        make_optimizer({"type": "sgd", "lr": -1})
    optimizer = make_optimizer({"type": "sgd"})
    with pytest.raises(OptimizerError, match="differ in names"):
        optimizer.update({"a": np.zeros(2)}, {"b": np.zeros(2)})
    with pytest.raises(OptimizerError, match="does not match"):
        optimizer.update({"a": np.zeros(2)}, {"a": np.zeros(3)})


def test_slots_are_flushed_before_they_turn_subnormal():
    """A dead unit's Adam moment decays by beta1 each step; it must reach 0, not
    linger as subnormal floats that make every later step slow."""
    from netc.runtime.optimizers import FLUSH_EVERY
    opt = make_optimizer({"type": "adam", "lr": 0.001})
    p, g = np.ones(4, np.float32), np.array([1, 0, 0, 0], np.float32)
    params, grads = {"w": p}, {"w": g}
    opt.update(params, grads)
    g[:] = 0
    tiny = np.finfo(np.float32).tiny
    for _ in range(40 * FLUSH_EVERY):
        opt.update(params, grads)
        for slot in opt.state.values():
            a = slot["w"]
            assert not np.any((a != 0) & (np.abs(a) < tiny))
    assert opt.state["m"]["w"][0] == 0
