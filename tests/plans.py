"""Test helper: hand-built plan dicts (the compiler's output format, see spec/PLAN.md),
for runtime tests that need steps the .net language would not write (no input
gradient, a forced kernel). Shapes come from the compiler's own op table."""
from __future__ import annotations

import math

import numpy as np

from netc.spec.ops import OPS

DEFAULT_OPTIONS = {
    "conv": {"filters": 2, "kernel": [3, 3], "stride": [1, 1], "pad": [0, 0]},
    "maxpool": {"window": [2, 2], "stride": [2, 2], "pad": [0, 0]},
    "avgpool": {"window": [2, 2], "stride": [2, 2], "pad": [0, 0]},
    "affine": {"units": 3},
    "leaky_relu": {"alpha": 0.01},
    "elu": {"alpha": 1.0},
    "prelu": {"init": 0.25},
    "batchnorm": {"momentum": 0.9, "eps": 1e-5},
    "dropout": {"ratio": 0.5, "inverted": False},
}


def _shapes(op, in_shape, o):
    """(output_shape, param_shapes, state_shapes) for one step (a join: in_shape lists its inputs')."""
    rule = OPS[op]
    return rule.output(in_shape, o), rule.params(in_shape, o), rule.state(in_shape, o)


def make_step(op, input_shape, index=0, input_grad=True, step_kernel=None, **options):
    """One plan step; options not given take DEFAULT_OPTIONS."""
    o = {**DEFAULT_OPTIONS.get(op, {}), **options}
    join = OPS[op].join
    shapes = [list(s) for s in input_shape] if join else list(input_shape)
    out, params, state = _shapes(op, shapes, o)
    step = {"index": index, "op": op, "line": None, "column": None,
            "inputs": list(range(index - len(shapes), index)) if join else [index - 1],
            "input_shape": shapes[0] if join else shapes, "output_shape": out, "options": o,
            "param_shapes": params, "state_shapes": state,
            "params": sum(math.prod(s) for s in params.values()),
            "input_grad": input_grad}
    if join:
        step["input_shapes"] = shapes
    if step_kernel:  # the compiler's kernel choice, not conv's kernel option
        step["kernel"] = step_kernel
    return step


def make_plan(input_shape, layers, loss="cross_entropy", init=None, weight_decay=0.0,
              seed=0, optimizer=None):
    """layers: [(op, {options and optional "init"/"literal"/"step_kernel"}), ...]."""
    steps, shape = [], list(input_shape)
    for index, (op, extra) in enumerate(layers):
        extra = dict(extra)
        per_step = {k: extra.pop(k) for k in ("init", "literal") if k in extra}
        step = make_step(op, shape, index=index, input_grad=index > 0, **extra)
        step.update(per_step)
        steps.append(step)
        shape = step["output_shape"]
    return {"format": "netc-plan/1", "name": "test", "input_shape": list(input_shape),
            "output_shape": shape, "loss": loss, "data": None,
            "init": init or {"type": "std", "std": 0.01},
            "optimizer": optimizer or {"type": "sgd", "lr": 0.1},
            "train": {"epochs": 1, "batch": 10, "eval": 1, "shuffle": True},
            "weight_decay": weight_decay, "seed": seed, "layers": steps}


def run_conv(layer, x_shape, seed=0):
    """Random weights, input and output gradient through a conv layer:
    (x, y, dout) after one training forward."""
    rng = np.random.default_rng(seed)
    layer.params["W"][...] = rng.standard_normal(layer.params["W"].shape)
    layer.params["b"][...] = rng.standard_normal(layer.params["b"].shape)
    x = rng.standard_normal(x_shape)
    y = layer.forward(x, train=True)
    return x, y, rng.standard_normal(y.shape)
