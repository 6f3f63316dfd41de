"""The op table: every op of the .net language, described once. Its word, the
value it takes, its options with their defaults, its shape rule, parameter and
state shapes, FLOPs, and what the rest of netc needs to know about it. The
JSON Schemas, the compiler, the runtime's registry, the docs' lists and the
tests all read this table (or are checked against it).

Pure Python: the compiler and the runtime both import it, neither pulls the other in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from typing import Callable


class ShapeProblem(Exception):
    """A shape rule's refusal, with the actual numbers; the planner adds where."""

    def __init__(self, message: str, hint: str | None = None, key: str | None = None,
                 inputs: tuple[int, int] | None = None):
        super().__init__(message)
        self.message, self.hint, self.key = message, hint, key
        self.inputs = inputs    # a join: the two inputs (positions) that disagree


@dataclass(frozen=True)
class Positional:
    """The one value an op takes before its options: how to read it from a
    parsed value (kind, value), how to write it back, an example."""
    read: Callable          # (kind, value) -> {option: value}; ValueError when malformed
    write: Callable         # layer dict -> text
    example: str
    keys: tuple             # the options it fills


@dataclass(frozen=True)
class Op:
    word: str
    doc: str                # one line: what it computes; the schemas' description
    output: Callable        # (input shape or shapes, options) -> output shape
    options: dict = field(default_factory=dict)   # name -> Option
    positional: Positional | None = None
    params: Callable = lambda shape, o: {}        # {name: shape} of trained arrays
    state: Callable = lambda shape, o: {}         # {name: shape} of kept, untrained arrays
    flops: Callable = lambda shape, out, o: prod(out)   # forward, per sample
    kind: str = "layer"     # layer, activation (shown by `netc activations`), output, join
    loss: str | None = None         # output ops: the loss trained through it
    differentiable: bool = True     # False: a network holding it can run, not train
    decay: tuple = ()               # parameters weight decay applies to
    numbered: bool = False          # counts as a layer in the book's W1, b1, W2 ... names
    aliases: tuple = ()             # other words a user may type for it
    # The kernels the compiler may choose between; "reference" is the plain,
    # book-level one every op has and every other kernel is tested against.
    kernels: tuple = ("reference",)

    @property
    def join(self) -> bool:
        return self.kind == "join"


@dataclass(frozen=True)
class Option:
    """One option: its JSON Schema in a spec document (with its default) and
    in a plan (None: the compiler turns it into something else, not a plan option)."""
    spec: dict
    plan: dict | None


# -- shape rules --------------------------------------------------------------

def _need_image(shape):
    if len(shape) != 3:
        raise ShapeProblem(f"needs a C x H x W input, but gets a vector {list(shape)}",
                           "put convolution and pooling layers before affine and flatten")


def _fraction(numerator: int, denominator: int) -> str:
    """An exact quotient as text: 12.5, or 1000000007/999999999 when a float would round."""
    whole, rest = divmod(numerator, denominator)
    if (rest * 10 ** 6) % denominator == 0:
        return f"{numerator / denominator:g}"
    return f"{numerator}/{denominator}"


def _window_axis(axis, size, k, s, p, what) -> int:
    """One axis of (in + 2*pad - k)/stride + 1, which must be a whole number >= 1."""
    padded = size + 2 * p
    if k > padded:
        raise ShapeProblem(f"{what} {k} is larger than the padded input {axis} {padded} "
                           f"({size} + 2*{p})", f"use a smaller {what} or pad={(k - size + 1) // 2}",
                           key="kernel" if what == "kernel" else "window")
    if (padded - k) % s:
        # The nearest larger pad and the largest smaller stride that fit; both
        # searches bounded, since a stride may be any size.
        pads = (q for q in range(p + 1, p + min(s, 64)) if (size + 2 * q - k) % s == 0)
        strides = (t for t in range(min(s - 1, padded - k), max(0, min(s - 1, padded - k) - 10 ** 5), -1)
                   if (padded - k) % t == 0)
        fixes = [f"pad={q}" for q in pads][:1] + [f"stride={t}" for t in strides][:1]
        raise ShapeProblem(f"output {axis}: ({size} + 2*{p} - {k})/{s} + 1 = "
                           f"{_fraction(padded - k + s, s)} is not a whole number",
                           "try " + " or ".join(fixes or ["stride=1"]), key="stride")
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


def _vector_only(shape, o):
    if len(shape) != 1:
        raise ShapeProblem(f"needs a vector input, but gets {list(shape)}", "put an affine layer before it")
    return list(shape)


def _add_out(shapes, o):
    first = shapes[0]
    for i, shape in enumerate(shapes[1:], 1):
        if list(shape) != list(first):
            # {0}, {1}: the planner puts in the two inputs' names
            big, small = ("{0}", shape) if prod(first) >= prod(shape) else ("{1}", first)
            hint = "add needs equal shapes"
            if len(shape) == len(first) == 3 and min(first[1], shape[1]) > 0:
                stride = max(first[1], shape[1]) // min(first[1], shape[1])
                hint += (f": drop the stride, or project {big} with a 1x1 conv: "
                         f"'{big} -> conv {small[0]}x1x1" + (f" stride={stride}'" if stride > 1 else "'"))
            raise ShapeProblem("inputs differ in shape", hint, inputs=(0, i))
    return list(first)


def _concat_out(shapes, o):
    first = shapes[0]
    for i, shape in enumerate(shapes[1:], 1):
        if len(shape) != len(first) or list(shape[1:]) != list(first[1:]):
            hint = ("concat joins images of equal height and width along channels, or vectors along units"
                    if len(shape) == len(first) else "concat cannot join an image and a vector: flatten the image")
            raise ShapeProblem("inputs do not fit together", hint, inputs=(0, i))
    return [sum(s[0] for s in shapes), *first[1:]]


same = lambda shape, o: list(shape)
elementwise = lambda cost: (lambda shape, out, o: cost * prod(out))
free = lambda shape, out, o: 0


# -- positional values ----------------------------------------------------------

def _dims_text(pair):
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def _read_conv(kind, value):
    if kind != "dims" or len(value) != 3:
        raise ValueError("conv takes FxKHxKW, e.g. 'conv 30x5x5' (30 filters of 5x5)")
    return {"filters": value[0], "kernel": [value[1], value[2]]}


def _read_window(kind, value):
    if kind == "number" and isinstance(value, int):
        return {"window": [value, value]}
    if kind == "dims" and len(value) == 2:
        return {"window": list(value)}
    raise ValueError("a pooling window is K or KHxKW, e.g. 'pool 2' or 'pool 2x3'")


def _read_number(key, example):
    def read(kind, value):
        if kind != "number":
            raise ValueError(f"expected a number, e.g. '{example}'")
        return {key: value}
    return read


CONV_VALUE = Positional(_read_conv, lambda l: f"{l['filters']}x{l['kernel'][0]}x{l['kernel'][1]}",
                        "conv 30x5x5", ("filters", "kernel"))
WINDOW_VALUE = Positional(_read_window, lambda l: _dims_text(l["window"]), "pool 2", ("window",))


def number_value(key, example):
    return Positional(_read_number(key, example), lambda l: l[key], example, (key,))


# -- option schemas (the $defs they name exist in both schemas) -----------------

POSINT = {"$ref": "#/$defs/posint"}
PAIR_LIST = {"type": "array", "items": POSINT, "minItems": 2, "maxItems": 2}
RESOLVED_PAIR = {"$ref": "#/$defs/pair"}
RESOLVED_PAD = {"$ref": "#/$defs/padpair"}
UNIT = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
WEIGHTS = {"init": Option({"$ref": "#/$defs/init"}, None),
           "weights": Option({"$ref": "#/$defs/literal"}, None),
           "bias": Option({"$ref": "#/$defs/literal"}, None)}


def _window_options(window_key, stride: dict):
    return {window_key: Option(PAIR_LIST, RESOLVED_PAIR),
            "stride": Option({"$ref": "#/$defs/pair", **stride}, RESOLVED_PAIR),
            "pad": Option({"$ref": "#/$defs/padding", "default": 0}, RESOLVED_PAD)}


def _alpha(default):
    return {"alpha": Option({"type": "number", "minimum": 0, "default": default},
                            {"type": "number", "minimum": 0})}


def _window_flops(s, out, o):
    return o["window"][0] * o["window"][1] * prod(out)


_POOL = dict(output=_pool_out, options=_window_options("window", {}), positional=WINDOW_VALUE,
             flops=_window_flops, kernels=("reference", "reshape", "im2col", "numba-reshape"))

# -- the table -------------------------------------------------------------------

OPS: dict[str, Op] = {op.word: op for op in (
    Op("conv", "conv FxKHxKW: F filters of KH x KW over every input channel; NCHW.", _conv_out,
       options={"filters": Option(POSINT, POSINT), **_window_options("kernel", {"default": 1}), **WEIGHTS},
       positional=CONV_VALUE,
       params=lambda s, o: {"W": [o["filters"], s[0], *o["kernel"]], "b": [o["filters"]]},
       flops=lambda s, out, o: 2 * s[0] * o["kernel"][0] * o["kernel"][1] * prod(out),
       decay=("W",), numbered=True, kernels=("reference", "im2col", "winograd", "numba-winograd", "numba-winograd4")),
    Op("maxpool", "pool K or KHxKW: the maximum of each window (padding counts as -inf); "
       "stride defaults to the window.", aliases=("pool",), **_POOL),
    Op("avgpool", "avgpool K or KHxKW: the mean of each window, padded zeros included; "
       "stride defaults to the window.", **_POOL),
    Op("affine", "affine N: a fully connected layer with N units; flattens a C x H x W input "
       "in C, H, W order.", lambda s, o: [o["units"]],
       options={"units": Option(POSINT, POSINT), **WEIGHTS}, positional=number_value("units", "affine 100"),
       params=lambda s, o: {"W": [prod(s), o["units"]], "b": [o["units"]]},
       flops=lambda s, out, o: 2 * prod(s) * o["units"], decay=("W",), numbered=True),
    Op("flatten", "C x H x W -> C*H*W, in C, H, W order.", lambda s, o: [prod(s)], flops=free),
    Op("relu", "max(x, 0).", same, kind="activation", kernels=("reference", "fused")),
    Op("sigmoid", "1 / (1 + exp(-x)).", same, flops=elementwise(4), kind="activation"),
    Op("tanh", "tanh(x).", same, flops=elementwise(4), kind="activation"),
    Op("step", "1 where x > 0, else 0 (no gradient: such a network runs but cannot train).", same,
       kind="activation", differentiable=False),
    Op("leaky_relu", "x if x > 0 else alpha * x.", same, options=_alpha(0.01),
       flops=elementwise(2), kind="activation"),
    Op("prelu", "Leaky ReLU with a learned slope per channel (per unit after a vector).", same,
       options={"init": Option({"type": "number", "default": 0.25}, {"type": "number"})},
       params=lambda s, o: {"alpha": _per_channel(s)}, flops=elementwise(2), kind="activation"),
    Op("elu", "x if x > 0 else alpha * (exp(x) - 1).", same, options=_alpha(1.0),
       flops=elementwise(4), kind="activation"),
    Op("batchnorm", "Batch normalisation: gamma 1, beta 0; per channel after a C x H x W input, "
       "per unit after a vector.", same,
       options={"momentum": Option({**UNIT, "default": 0.9}, {"$ref": "#/$defs/unit"}),
                "eps": Option({"type": "number", "exclusiveMinimum": 0, "default": 1e-5},
                              {"$ref": "#/$defs/positive"})},
       params=lambda s, o: {"gamma": _per_channel(s), "beta": _per_channel(s)},
       state=lambda s, o: {"running_mean": _per_channel(s), "running_var": _per_channel(s)},
       flops=elementwise(4), kernels=("reference", "channels", "numba-channels")),
    Op("dropout", "Drops each unit with probability ratio while training. Default (the book's): "
       "inference scales by (1 - ratio); inverted=true: training scales kept units by 1/(1 - ratio).",
       same, options={"ratio": Option(UNIT, {"$ref": "#/$defs/unit"}),
                      "inverted": Option({"type": "boolean", "default": False}, {"type": "boolean"})},
       positional=number_value("ratio", "dropout 0.5")),
    Op("add", "add A B ...: the element-wise sum of tensors of exactly equal shape.", _add_out,
       flops=lambda s, out, o: (len(s) - 1) * prod(out), kind="join"),
    Op("concat", "concat A B ...: images joined along channels (equal H and W), vectors along units.",
       _concat_out, flops=free, kind="join"),
    Op("softmax", "Probabilities over a vector; trains with cross-entropy. Last layer only.",
       _vector_only, flops=elementwise(4), kind="output", loss="cross_entropy"),
    Op("identity", "The input unchanged; trains with mean squared error. Last layer only.", same,
       flops=free, kind="output", loss="mse"),
)}

# Every word a user may type for an op -> the op.
WORDS: dict[str, str] = {word: op.word for op in OPS.values() for word in (op.word, *op.aliases)}


def op_of(word: str) -> Op:
    """The op a typed word (`pool`, `conv`) names."""
    return OPS[WORDS[word]]


def array_names(op: Op) -> tuple[list[str], list[str]]:
    """The names of an op's parameter and state arrays (their sizes vary with
    the input; the names do not), read off a small input the op accepts."""
    shape = [3] if op.loss == "cross_entropy" else [3, 4, 4]
    shape = [shape, shape] if op.join else shape
    options = {"filters": 1, "kernel": [1, 1], "window": [1, 1], "stride": [1, 1], "pad": [0, 0], "units": 1,
               **{name: o.spec["default"] for name, o in op.options.items() if "default" in o.spec}}
    return list(op.params(shape, options)), list(op.state(shape, options))


def positional_of(word: str) -> Positional | None:
    return op_of(word).positional


def spec_options(word: str) -> dict:
    """{name: spec schema} of the options a layer written as `word` takes."""
    return {name: option.spec for name, option in op_of(word).options.items()}


def defaults(word: str) -> dict:
    """{option: default} as the table states them."""
    return {name: schema["default"] for name, schema in spec_options(word).items() if "default" in schema}


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
