"""Where netc's conventions differ from PyTorch's, measured on one tiny case
each: the numbers spec/LANGUAGE.md ("Conventions that differ from PyTorch")
quotes. Run it after changing an optimizer or layer:

    python benchmarks/conventions_torch.py

PyTorch is never a dependency of netc: `pip install torch==2.13.0` for this script.
"""
from __future__ import annotations

import numpy as np
import torch

import netc
from netc.runtime.network import Network
from netc.runtime.optimizers import make_optimizer


def nesterov_first_step(lr=0.1, momentum=0.9):
    """The first update of a parameter at 0 with gradient 1, in units of lr."""
    p = np.zeros(1, np.float32)
    make_optimizer({"type": "nesterov", "lr": lr, "momentum": momentum}).update({"p": p}, {"p": np.ones(1, np.float32)})
    q = torch.zeros(1, requires_grad=True)
    q.grad = torch.ones(1)
    torch.optim.SGD([q], lr=lr, momentum=momentum, nesterov=True).step()
    return float(p[0]) / lr, float(q.detach()[0]) / lr


def default_eps():
    netc_eps = {kind: make_optimizer({"type": kind}).hyper["eps"] for kind in ("adam", "rmsprop", "adagrad")}
    q = [torch.zeros(1)]
    torch_eps = {"adam": torch.optim.Adam(q).defaults["eps"], "rmsprop": torch.optim.RMSprop(q).defaults["eps"],
                 "adagrad": torch.optim.Adagrad(q).defaults["eps"]}
    return netc_eps, torch_eps


def batchnorm_running_stats(momentum=0.9):
    """Running mean and variance after one training batch of [0, 1, 2, 3]:
    netc with `momentum`, PyTorch with momentum 1 - momentum."""
    network = Network(netc.compile(f"input 1\nbatchnorm momentum={momentum} -> identity\n").data)
    x = np.array([[0.0], [1.0], [2.0], [3.0]], np.float32)
    network.forward(x, train=True)
    state = network.state
    bn = torch.nn.BatchNorm1d(1, momentum=1 - momentum)
    bn.train()
    bn(torch.tensor(x))
    netc_stats = (float(state["0.batchnorm.running_mean"][0]), float(state["0.batchnorm.running_var"][0]))
    return netc_stats, (float(bn.running_mean[0]), float(bn.running_var[0]))


def maxpool_tie_gradient():
    """The input gradient of a 2x2 max pool over four equal values."""
    plan = netc.compile("input 1x2x2\npool 2 -> identity\n").data
    plan["layers"][0]["input_grad"] = True      # a first layer skips its input gradient otherwise
    pool = Network(plan).layers[0]
    pool.forward(np.ones((1, 1, 2, 2), np.float32), True)
    netc_dx = pool.backward(np.ones((1, 1, 1, 1), np.float32)).ravel().tolist()
    x = torch.ones(1, 1, 2, 2, requires_grad=True)
    torch.nn.functional.max_pool2d(x, 2).sum().backward()
    return netc_dx, x.grad.ravel().tolist()


def weight_decay_step(decay=0.1, lr=0.1):
    """One Adam step with zero loss gradient: only weight decay moves W and b.
    netc: L2 on conv/affine W only (added to the gradient); PyTorch Adam: L2
    on every parameter given; AdamW: decoupled (p *= 1 - lr * decay)."""
    plan = netc.compile(f"input 1\naffine 1 weights=[[1.0]] bias=[1.0] -> identity\n"
                        f"optimizer adam lr={lr}\nweight_decay {decay}\n").data
    network = Network(plan)
    # x = 0 and a target equal to the output (b = 1): the mse gradient is 0,
    # so the step moves the parameters by weight decay alone.
    network.train_step(np.zeros((1, 1), np.float32), np.ones((1, 1), np.float32), make_optimizer(plan["optimizer"]))
    netc_wb = [float(network.params["0.affine.W"].ravel()[0]), float(network.params["0.affine.b"][0])]
    results = {"netc": netc_wb}
    for name, cls in (("torch Adam", torch.optim.Adam), ("torch AdamW", torch.optim.AdamW)):
        w, b = torch.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)
        w.grad, b.grad = torch.zeros(1), torch.zeros(1)
        cls([w, b], lr=lr, weight_decay=decay, eps=1e-7).step()
        results[name] = [float(w.detach()[0]), float(b.detach()[0])]
    return results


def main():
    ours, theirs = nesterov_first_step()
    print(f"nesterov first step (lr=0.1, momentum=0.9, g=1): netc {ours:.4f}*lr*g, PyTorch {theirs:.4f}*lr*g")
    netc_eps, torch_eps = default_eps()
    print(f"default eps: netc {netc_eps}, PyTorch {torch_eps}")
    ours, theirs = batchnorm_running_stats()
    print(f"batchnorm running (mean, var) after [0,1,2,3]: netc momentum=0.9 {ours}, "
          f"PyTorch momentum=0.1 {tuple(round(v, 6) for v in theirs)}")
    ours, theirs = maxpool_tie_gradient()
    print(f"max pool 2x2 over four equal values, gradient: netc {ours}, PyTorch {theirs}")
    for name, (w, b) in weight_decay_step().items():
        print(f"one Adam step with weight decay 0.1, W=b=1, no loss gradient: {name:<11} W {w:.6f}  b {b:.6f}")


if __name__ == "__main__":
    main()
