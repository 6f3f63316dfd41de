"""The op table: for each op the plan knows, one small integer-exact shape
rule, its parameter and state shapes, and its forward FLOPs per sample.
Rules raise ShapeProblem with the actual numbers; the planner adds where."""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Callable


class ShapeProblem(Exception):
    def __init__(self, message: str, hint: str | None = None, key: str | None = None):
        super().__init__(message)
        self.message, self.hint, self.key = message, hint, key


@dataclass(frozen=True)
class Op:
    output: Callable            # (input_shape, options) -> output_shape
    params: Callable = lambda shape, o: {}
    state: Callable = lambda shape, o: {}
    flops: Callable = lambda shape, out, o: prod(out)
    loss: str | None = None     # an output op: the loss trained through it


def _need_image(shape):
    if len(shape) != 3:
        raise ShapeProblem(f"needs a C x H x W input, but gets a vector {list(shape)}",
                           "put convolution and pooling layers before affine and flatten")


def _window_axis(axis, size, k, s, p, what) -> int:
    """One axis of (in + 2*pad - k)/stride + 1, which must be a whole number >= 1."""
    padded = size + 2 * p
    if k > padded:
        raise ShapeProblem(f"{what} {k} is larger than the padded input {axis} {padded} "
                           f"({size} + 2*{p})", f"use a smaller {what} or pad={(k - size + 1) // 2}",
                           key="kernel" if what == "kernel" else "window")
    if (padded - k) % s:
        value = (padded - k) / s + 1
        # The nearest pad and the largest smaller stride that fit; bounded
        # searches, since a stride may be any size.
        pads = (q for q in range(p + 1, p + min(s, 64)) if (size + 2 * q - k) % s == 0)
        strides = (t for t in range(min(s - 1, padded - k), 0, -1) if (padded - k) % t == 0)
        fixes = [f"pad={q}" for q in pads][:1] + [f"stride={next(strides)}"]
        raise ShapeProblem(f"output {axis}: ({size} + 2*{p} - {k})/{s} + 1 = {value:g} is not a whole number",
                           "try " + " or ".join(fixes), key="stride")
    return (padded - k) // s + 1


def windowed(shape, window, stride, pad, what):
    """(C, H, W) under a KH x KW window -> (OH, OW)."""
    _need_image(shape)
    _, H, W = shape
    return (_window_axis("height", H, window[0], stride[0], pad[0], what),
            _window_axis("width", W, window[1], stride[1], pad[1], what))


def _conv_out(shape, o):
    OH, OW = windowed(shape, o["kernel"], o["stride"], o["pad"], "kernel")
    return [o["filters"], OH, OW]


def _pool_out(shape, o):
    OH, OW = windowed(shape, o["window"], o["stride"], o["pad"], "window")
    return [shape[0], OH, OW]


def _per_channel(shape):
    """One value per channel after an image, one per unit after a vector."""
    return [shape[0]] if len(shape) == 3 else [prod(shape)]


def _vector_only(name):
    def rule(shape, o):
        if len(shape) != 1:
            raise ShapeProblem(f"needs a vector input, but gets {list(shape)}",
                               "put an affine layer before it")
        return list(shape)
    return rule


same = lambda shape, o: list(shape)
elementwise = lambda cost: (lambda shape, out, o: cost * prod(out))

OPS: dict[str, Op] = {
    "conv": Op(_conv_out,
               params=lambda s, o: {"W": [o["filters"], s[0], *o["kernel"]], "b": [o["filters"]]},
               flops=lambda s, out, o: 2 * s[0] * o["kernel"][0] * o["kernel"][1] * prod(out)),
    "maxpool": Op(_pool_out, flops=lambda s, out, o: o["window"][0] * o["window"][1] * prod(out)),
    "avgpool": Op(_pool_out, flops=lambda s, out, o: o["window"][0] * o["window"][1] * prod(out)),
    "affine": Op(lambda s, o: [o["units"]],
                 params=lambda s, o: {"W": [prod(s), o["units"]], "b": [o["units"]]},
                 flops=lambda s, out, o: 2 * prod(s) * o["units"]),
    "flatten": Op(lambda s, o: [prod(s)], flops=lambda s, out, o: 0),
    "relu": Op(same),
    "sigmoid": Op(same, flops=elementwise(4)),
    "tanh": Op(same, flops=elementwise(4)),
    "step": Op(same),
    "leaky_relu": Op(same, flops=elementwise(2)),
    "prelu": Op(same, params=lambda s, o: {"alpha": _per_channel(s)}, flops=elementwise(2)),
    "elu": Op(same, flops=elementwise(4)),
    "batchnorm": Op(same, params=lambda s, o: {"gamma": _per_channel(s), "beta": _per_channel(s)},
                    state=lambda s, o: {"running_mean": _per_channel(s), "running_var": _per_channel(s)},
                    flops=elementwise(4)),
    "dropout": Op(same),
    "softmax": Op(_vector_only("softmax"), flops=elementwise(4), loss="cross_entropy"),
    "identity": Op(same, flops=lambda s, out, o: 0, loss="mse"),
}

# What a user may type for an op (the spec's `type`) when it differs from the plan's op.
ALIASES = {"pool": "maxpool"}


def nested_shape(value) -> list[int] | None:
    """Shape of a nested list of numbers; None when ragged or not numeric."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return []
    if not isinstance(value, list) or not value:
        return None
    inner = [nested_shape(v) for v in value]
    if any(s is None or s != inner[0] for s in inner):
        return None
    return [len(value)] + inner[0]
