"""Losses: fused softmax cross-entropy and mean squared error."""
import numpy as np
import pytest

from netc.runtime.losses import (LOSS_SUMS, LOSSES, cross_entropy_sum, mean_squared_error, softmax_cross_entropy,
                                 squared_error_sum)


def book_cross_entropy(logits, t_onehot):
    """The book's form: softmax, then -sum(t * log(y + 1e-7)) / N."""
    z = logits - logits.max(axis=1, keepdims=True)
    y = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return -np.sum(t_onehot * np.log(y + 1e-7)) / logits.shape[0]


def test_cross_entropy_matches_book_and_labels_equal_one_hot():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((8, 5))
    labels = rng.integers(0, 5, 8)
    onehot = np.eye(5)[labels]
    loss_l, grad_l = softmax_cross_entropy(logits, labels)
    loss_o, grad_o = softmax_cross_entropy(logits, onehot)
    assert loss_l == pytest.approx(book_cross_entropy(logits, onehot), abs=1e-6)
    assert loss_l == pytest.approx(loss_o, rel=1e-12)
    np.testing.assert_allclose(grad_l, grad_o, atol=1e-15)
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(grad_l, (z / z.sum(axis=1, keepdims=True) - onehot) / 8)


def test_cross_entropy_is_stable_and_keeps_float32():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]], np.float32)
    loss, grad = softmax_cross_entropy(logits, np.array([2, 0]))
    assert np.isfinite(loss) and loss == pytest.approx((2000 + np.log(3)) / 2, rel=1e-6)
    assert grad.dtype == np.float32 and np.all(np.isfinite(grad))
    _, grad = softmax_cross_entropy(logits, np.eye(3)[[2, 0]])  # float64 one-hot targets
    assert grad.dtype == np.float32


def test_cross_entropy_does_not_mutate_inputs():
    logits = np.array([[1.0, 2.0]])
    softmax_cross_entropy(logits, np.array([1]))
    assert logits.tolist() == [[1.0, 2.0]]


def test_mean_squared_error():
    y = np.array([[0.1, 0.9], [0.6, 0.4]], np.float32)
    t = np.array([[0.0, 1.0], [1.0, 0.0]])
    loss, grad = mean_squared_error(y, t)
    assert loss == pytest.approx(0.5 * (0.01 + 0.01 + 0.16 + 0.16) / 2, rel=1e-6)
    np.testing.assert_allclose(grad, (y - t) / 2, rtol=1e-6)
    assert grad.dtype == np.float32


def test_mse_rejects_mismatched_targets():
    with pytest.raises(ValueError, match="do not match"):
        mean_squared_error(np.zeros((3, 1)), np.zeros(4))


def test_losses_table():
    assert LOSSES == {"cross_entropy": softmax_cross_entropy, "mse": mean_squared_error}
    assert LOSS_SUMS == {"cross_entropy": cross_entropy_sum, "mse": squared_error_sum}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_summed_losses_are_the_batch_means_times_n(dtype):
    rng = np.random.default_rng(3)
    logits = (rng.standard_normal((9, 4)) * 40).astype(dtype)  # some probabilities underflow
    labels = rng.integers(0, 4, 9)
    for t in (labels, np.eye(4)[labels]):
        assert cross_entropy_sum(logits, t) / 9 == softmax_cross_entropy(logits, t)[0]
    y, t = logits[:, :1], rng.standard_normal((9, 1))
    assert squared_error_sum(y, t) / 9 == mean_squared_error(y, t)[0]


def test_cross_entropy_gradient_has_no_subnormals():
    from netc.runtime.losses import softmax_cross_entropy
    logits = np.array([[0.0, -95.0, -200.0], [50.0, 0.0, 0.0]], np.float32)
    _, d = softmax_cross_entropy(logits, np.array([0, 0]))
    tiny = np.finfo(np.float32).tiny
    assert not np.any((d != 0) & (np.abs(d) < tiny))
