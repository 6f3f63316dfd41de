"""Graphs end to end: named tensors, add and concat, compiled, run and trained."""
from __future__ import annotations

import numpy as np
import pytest

import netc
from netc.runtime.gradcheck import gradient_check
from netc.runtime.network import Network

RESIDUAL = """input 2x6x6
x = conv 3x3x3 pad=1 -> relu
y = x -> conv 3x3x3 pad=1 -> batchnorm
z = add x y -> relu
a = z -> conv 2x1x1 -> tanh
b = z -> avgpool 3 stride=1 pad=1 -> conv 2x3x3 pad=1
concat a b -> maxpool 2 -> affine 4 -> softmax
"""

VECTORS = """input 5
h = affine 6 -> tanh
u = h -> affine 3 -> sigmoid
v = h -> affine 4 -> elu
w = input -> affine 2
concat u v w h -> affine 3 -> softmax
"""


def _plan(text):
    return netc.compile(text).data


def test_steps_name_their_inputs_in_order():
    steps = _plan(RESIDUAL)["layers"]
    assert [s["inputs"] for s in steps] == [[-1], [0], [1], [2], [1, 3], [4], [5], [6], [5], [8],
                                              [7, 9], [10], [11], [12]]
    assert [s.get("name") for s in steps[:6]] == [None, "x", None, "y", None, "z"]
    assert steps[10]["op"] == "concat" and steps[10]["output_shape"] == [4, 6, 6]
    assert steps[10]["input_shapes"] == [[2, 6, 6], [2, 6, 6]]
    assert all(i < s["index"] for s in steps for i in s["inputs"])


@pytest.mark.parametrize("text,batch", [(RESIDUAL, 4), (VECTORS, 3)])
def test_gradients_through_fan_out_add_and_concat(text, batch):
    plan = _plan(text)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *plan["input_shape"]))
    t = rng.integers(0, 3, batch)
    worst = gradient_check(plan, x, t, seed=1)
    assert len(worst) == sum(len(s["param_shapes"]) for s in plan["layers"])
    assert max(worst.values()) < 1e-5, worst


def test_an_unread_join_input_is_an_error_and_a_shared_one_is_not():
    with pytest.raises(netc.NetcError, match="'w' is defined but never read"):
        netc.compile(VECTORS.replace("concat u v w", "concat u v"))


def test_fan_out_sums_gradients():
    """y = relu(x) + relu(x): x's gradient is twice one branch's."""
    plan = _plan("input 4\nx = affine 3 weights=[[1,0,0],[0,1,0],[0,0,1],[1,1,1]]\n"
                 "a = x -> relu\nb = x -> relu\nadd a b -> identity\n")
    net = Network(plan, dtype=np.float64)
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    out = net.forward(x)
    np.testing.assert_allclose(out, 2 * np.maximum(x[:, :3] + x[:, 3:], 0))
    grads = net.gradient(x, np.zeros((1, 3)))
    # loss = 0.5 * sum(out^2); d/dW = x^T (out * 2)
    np.testing.assert_allclose(grads["0.affine.W"], x.T @ (2 * out))


def test_a_relu_read_twice_is_not_fused():
    steps = _plan("input 1x4x4\nx = conv 2x1x1 -> relu\na = x -> pool 2\nb = x -> pool 2\n"
                  "add a b -> affine 2 -> softmax\n")["layers"]
    # not into either pool; into the conv before it, whose one reader it is
    assert "activation" not in steps[2] and "activation" not in steps[3]
    assert steps[0]["activation"] == "relu" and steps[1]["kernel"] == "fused"
    chain = _plan("input 1x4x4\nx = conv 2x1x1 -> relu\nx -> pool 2 -> affine 2 -> softmax\n")["layers"]
    assert chain[1]["kernel"] == "fused" and chain[2]["activation"] == "relu"


def test_lanes_give_the_batch_result(monkeypatch):
    """Rows split across lanes run the same graph: outputs and gradients match one lane."""
    from netc.runtime import lanes
    plan = _plan(RESIDUAL.replace("-> batchnorm", "-> dropout 0.3"))
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((32, 2, 6, 6)), rng.integers(0, 4, 32)
    one = Network(plan, seed=5, dtype=np.float64).gradient(x, t)
    monkeypatch.setattr(lanes, "lane_count", lambda rows, flops: 2)
    monkeypatch.setattr(lanes, "blas_threads", lambda: 2)
    network = Network(plan, seed=5, dtype=np.float64)
    assert network.lane_count(32) == 2
    two = network.gradient(x, t)
    for name in one:
        np.testing.assert_allclose(two[name], one[name], rtol=1e-10, atol=1e-12)


def test_forward_frees_tensors_after_their_last_reader():
    net = Network(_plan(RESIDUAL), dtype=np.float64)
    kept = []
    original = net.graph.forward

    def spy(x, layers, train, stop, on_step=None):
        def on(index, phase, seconds):
            kept.append(index)
        return original(x, layers, train, stop, on_step=on)
    net.graph.forward = spy
    net.forward(np.zeros((1, 2, 6, 6)))
    assert kept == list(range(14))
    assert net.graph.last_read[1] == 4 and net.graph.last_read[5] == 8 and net.graph.last_read[-1] == 0


def test_activations_shows_a_fused_relu_after_it_is_applied():
    from netc.experiments import activations
    plan = netc.compile("input 1x8x8\nconv 4x3x3 pad=1 -> relu -> pool 2 -> affine 3 -> softmax\n").data
    assert plan["layers"][1]["kernel"] == "fused"
    network = Network(activations.without_fusion(plan), seed=0)
    x = np.random.default_rng(0).standard_normal((20, 1, 8, 8)).astype(np.float32)
    [(label, op, values)] = activations.hidden_activations(network, x)
    assert op == "relu" and values.shape == (20, 4, 8, 8)
    assert values.min() == 0 and 0.2 < np.mean(values == 0) < 0.8


def test_activations_of_a_graph_in_step_order():
    from netc.experiments import activations
    network = Network(netc.compile(RESIDUAL).data, seed=0)
    found = activations.hidden_activations(network, np.ones((2, 2, 6, 6), np.float32))
    assert [op for _, op, _ in found] == ["relu", "relu", "tanh"]


def test_batchnorm_trains_in_one_lane_and_infers_in_several(monkeypatch):
    """Training needs the whole batch's statistics; inference uses the running
    averages, so its rows are independent and may be split."""
    from netc.runtime import lanes
    plan = _plan(RESIDUAL)
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((32, 2, 6, 6)), rng.integers(0, 4, 32)
    one = Network(plan, seed=5, dtype=np.float64)
    one.gradient(x, t)
    monkeypatch.setattr(lanes, "lane_count", lambda rows, flops: 2)
    monkeypatch.setattr(lanes, "blas_threads", lambda: 2)
    two = Network(plan, seed=5, dtype=np.float64)
    assert two.lane_count(32, train=True) == 1 and two.lane_count(32, train=False) == 2
    two.gradient(x, t)
    for name, value in one.state.items():
        np.testing.assert_array_equal(two.state[name], value)
    np.testing.assert_allclose(two.forward(x), one.forward(x), rtol=1e-12, atol=1e-12)
