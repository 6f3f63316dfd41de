"""Evaluation scores with the training loss: the same numbers on the same batch,
even where a softmax probability underflows to 0."""
import numpy as np
import pytest

from netc.runtime.metrics import correct, evaluate
from netc.runtime.network import Network

from plans import make_plan


def classifier(literal=None):
    affine = {"units": 3, **({"literal": literal} if literal else {})}
    return Network(make_plan([2], [("affine", affine), ("softmax", {})]))


def regressor():
    return Network(make_plan([2], [("affine", {"units": 3}), ("relu", {}), ("affine", {"units": 1})],
                             loss="mse"))


def batch(seed=0, n=24):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 2)).astype(np.float32), rng.integers(0, 3, n)


def test_eval_loss_is_the_training_loss_on_one_batch():
    network, (x, t) = classifier(), batch()
    assert evaluate(network, x, t)["loss"] == network.loss(x, t)


def test_eval_loss_with_one_hot_targets_and_in_chunks():
    network, (x, t) = classifier(), batch(n=25)
    onehot = np.eye(3, dtype=np.float32)[t]
    assert evaluate(network, x, onehot)["loss"] == pytest.approx(network.loss(x, onehot), rel=1e-6)
    assert evaluate(network, x, t, batch=7)["loss"] == pytest.approx(network.loss(x, t), rel=1e-6)


def test_eval_loss_where_the_probability_underflows_to_zero():
    # logits (100, 0, -100) for class 2: softmax gives it exactly 0 in float32,
    # where the book's -log(p + 1e-7) would report 16.1 instead of 200.
    network = classifier({"W": [[100, 0, -100], [0, 0, 0]], "b": [0, 0, 0]})
    x, t = np.array([[1, 0], [1, 0]], np.float32), np.array([2, 0])
    assert network.forward(x)[0, 2] == 0
    result = evaluate(network, x, t)
    assert result["loss"] == network.loss(x, t)
    assert result["loss"] == pytest.approx((200 + 0) / 2, rel=1e-6)


def test_eval_loss_of_mse_is_the_training_loss():
    network, (x, _) = regressor(), batch()
    y = np.random.default_rng(1).standard_normal((len(x), 1)).astype(np.float32)
    assert evaluate(network, x, y)["loss"] == network.loss(x, y)


def test_accuracy_still_reads_the_network_outputs():
    network, (x, t) = classifier(), batch(n=30)
    result = evaluate(network, x, t, batch=8)
    assert result["accuracy"] == correct(network.forward(x), t) / 30
    assert result["count"] == 30


def test_no_samples_and_no_loss():
    network, (x, t) = classifier(), batch()
    assert evaluate(network, x[:0], t[:0]) == {"loss": None, "accuracy": None, "count": 0}
    unlossed = Network(make_plan([2], [("affine", {"units": 3}), ("softmax", {})], loss=None))
    result = evaluate(unlossed, x, t)
    assert np.isnan(result["loss"]) and 0 <= result["accuracy"] <= 1
