"""Import, node by node: each ONNX node -> a netc layer (type, options, what it
reads, its arrays). One handler per op type; pairs of nodes (MatMul + Add,
Greater + Cast) and the nodes netc's export marked fold into one layer."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from math import prod

import numpy as np

from .export import MARK
from .reader import OnnxGraph, describe, f32
from .shapes import reshaped, shape_only_nodes


@dataclass
class Layer:
    spec: dict                 # the document's layer: type and options
    reads: list[int]           # layer indices read; -1 is the network input
    node: object               # the ONNX node it came from, for messages
    arrays: dict = field(default_factory=dict)   # param/state name -> array
    inner: bool = False        # a layer inside a node that becomes two (its output is no ONNX tensor)

    @property
    def tensor(self) -> str | None:
        return None if self.inner else self.node.output[0]


def netc_mark(node) -> dict | None:
    """What netc's export wrote in a node's doc_string, if it did."""
    if not node.doc_string.startswith(MARK):
        return None
    try:
        return json.loads(node.doc_string[len(MARK):])
    except ValueError:
        return None


def _pair(values, default) -> list[int]:
    return list(values) if values else list(default)


def _short(pair):
    """[2, 2] -> 2, as `netc fmt` writes it; [2, 1] stays."""
    return pair[0] if pair[0] == pair[1] else pair


class Importer:
    """Walks the nodes in order (ONNX keeps them topologically sorted)."""

    def __init__(self, graph: OnnxGraph):
        self.g = graph
        self.layers: list[Layer] = []
        self.values: dict[str, int] = {graph.input: -1}   # tensor -> the layer that holds it
        self.matmuls: dict[str, int] = {}   # MatMul output -> its affine, waiting for a bias Add
        self.positives: dict[str, int] = {}   # Greater(x, 0) output -> x's layer, waiting for a Cast

    # -- helpers ---------------------------------------------------------------

    def error(self, node, message, hint=None):
        return self.g.error(f"{describe(node)}: {message}", hint)

    def read(self, node, i: int = 0) -> int:
        name = node.input[i]
        if name not in self.values:
            what = "a stored constant" if name in self.g.constants else "a value netc cannot follow"
            raise self.error(node, f"input '{name}' is {what}; netc layers read layer outputs")
        return self.values[name]

    def shape(self, node, i: int = 0) -> tuple:
        return self.g.shape(node.input[i], node)

    def add(self, node, spec: dict, reads: list[int] | None = None, **arrays) -> int:
        self.layers.append(Layer(spec, [self.read(node)] if reads is None else reads, node, arrays))
        self.values[node.output[0]] = len(self.layers) - 1
        return len(self.layers) - 1

    def alias(self, node, i: int = 0) -> None:
        self.values[node.output[0]] = self.read(node, i)

    def tensors_and_constants(self, node):
        names = [n for n in node.input if n]
        return [n for n in names if n not in self.g.constants], [n for n in names if n in self.g.constants]

    def windows(self, node, attributes, default_stride, default_window=None) -> dict:
        """stride and pad options; ONNX pads must be the same on both sides of an axis."""
        if any(d != 1 for d in attributes.get("dilations", [])):
            raise self.error(node, "dilated windows are not supported by netc")
        auto_pad = attributes.get("auto_pad", b"NOTSET")
        if auto_pad not in (b"NOTSET", b"VALID"):
            raise self.error(node, f"auto_pad={auto_pad.decode()} is not supported",
                             hint="export with explicit pads")
        pads = list(attributes.get("pads", [0, 0, 0, 0]))
        if len(pads) != 4 or pads[:2] != pads[2:]:
            raise self.error(node, f"pads {pads} differ between the two sides of an axis; "
                             "netc pads both sides alike")
        self.windows_fit(node, attributes.get("kernel_shape") or default_window, attributes)
        options = {}
        stride = _pair(attributes.get("strides"), [1, 1])
        if stride != list(default_stride):
            options["stride"] = _short(stride)
        if pads[:2] != [0, 0]:
            options["pad"] = _short(pads[:2])
        return options

    def unused_extra_outputs(self, node) -> None:
        for name in node.output[1:]:
            if name and (self.g.consumers.get(name) or name == self.g.output):
                raise self.error(node, f"its extra output '{name}' is used; netc layers have one output")

    # -- handlers, one per op type --------------------------------------------

    def conv(self, node):
        a = self.g.attributes(node)
        W = self.g.constant(node.input[1], node, "the weight")
        if W.ndim != 4:
            raise self.error(node, f"a {W.ndim - 2}-D convolution; netc convolves images (2-D)")
        if a.get("group", 1) != 1:
            raise self.error(node, f"grouped convolution (group={a['group']}) is not supported")
        F, _, KH, KW = W.shape
        b = (self.g.constant(node.input[2], node, "the bias") if len(node.input) > 2 and node.input[2]
             else np.zeros(F, np.float32))
        spec = {"type": "conv", "filters": int(F), "kernel": [int(KH), int(KW)],
                **self.windows(node, a, [1, 1], [KH, KW])}
        self.add(node, spec, W=W, b=b)

    def pool(self, node, kind: str):
        a = self.g.attributes(node)
        self.unused_extra_outputs(node)
        window = list(a["kernel_shape"])
        if len(window) != 2:
            raise self.error(node, f"a {len(window)}-D pooling; netc pools images (2-D)")
        options = self.windows(node, a, window)
        if kind == "avgpool" and "pad" in options and not a.get("count_include_pad", 0):
            raise self.error(node, "averages that leave padded cells out (count_include_pad=0); "
                             "netc's average pooling counts them",
                             hint="export with count_include_pad=True, or without padding")
        self.add(node, {"type": "pool" if kind == "maxpool" else kind, "window": window, **options})

    def windows_fit(self, node, window, a):
        """ONNX rounds a window count down (up with ceil_mode=1); netc's windows
        must fit exactly, so the two agree only then."""
        _, *sizes = self.shape(node)
        strides, pads = _pair(a.get("strides"), [1, 1]), list(a.get("pads", [0, 0, 0, 0]))
        rounds = "up" if a.get("ceil_mode", 0) else "down"
        for axis, size, k, s, p in zip(("height", "width"), sizes, window, strides, pads):
            if (size + 2 * p - k) % s:
                raise self.error(node, f"output {axis}: ({size} + 2*{p} - {k})/{s} + 1 = {(size + 2 * p - k) / s + 1:g}, "
                                 f"which ONNX rounds {rounds}; netc's windows must fit exactly",
                                 hint="change the padding or the input size so that the windows fit")

    def reduce_mean(self, node):
        """A mean over height and width (PyTorch's dynamo exporter writes global pooling so)."""
        a, shape = self.g.attributes(node), self.shape(node)
        axes = a.get("axes")
        if len(node.input) > 1 and node.input[1]:   # opset 18 moved the axes to an input
            axes = self.g.constant(node.input[1], node, "the axes").tolist()
        if len(shape) != 3 or axes is None or sorted(axis % 4 for axis in axes) != [2, 3]:
            raise self.error(node, f"a mean over axes {axes} of {list(shape)}; netc averages images "
                             "over height and width only (avgpool)")
        pool = {"type": "avgpool", "window": list(shape[1:])}
        if a.get("keepdims", 1):
            self.add(node, pool)
        else:   # (N, C): the pool, then a flatten
            self.layers.append(Layer(pool, [self.read(node)], node, inner=True))
            self.add(node, {"type": "flatten"}, reads=[len(self.layers) - 1])

    def global_average_pool(self, node):
        _, H, W = self.shape(node)
        self.add(node, {"type": "avgpool", "window": [H, W]})

    def affine(self, node, W, b):
        shape = self.shape(node)
        if len(shape) != 1 or W.shape[0] != shape[0]:
            raise self.error(node, f"multiplies a {list(shape)} input by a {list(W.shape)} weight; "
                             "netc's affine takes (N, features) times (features, units)",
                             hint="flatten to two axes first, e.g. torch.flatten(x, 1)")
        units = W.shape[1]
        b = np.broadcast_to(np.asarray(b, np.float32), (1, units)).reshape(units) if b is not None \
            else np.zeros(units, np.float32)
        return self.add(node, {"type": "affine", "units": int(units)}, W=W, b=b)

    def gemm(self, node):
        a = self.g.attributes(node)
        if a.get("transA", 0):
            raise self.error(node, "transA=1 is not supported (the batch runs along rows)")
        B = self.g.constant(node.input[1], node, "the weight")
        W = (B.T if a.get("transB", 0) else B) * np.float32(a.get("alpha", 1.0))
        C = self.g.constant(node.input[2], node, "the bias") if len(node.input) > 2 and node.input[2] else None
        if C is not None:
            try:
                C = np.broadcast_to(C, (1, W.shape[1])) * np.float32(a.get("beta", 1.0))
            except ValueError:
                raise self.error(node, f"bias of shape {list(C.shape)} does not fit {W.shape[1]} units") from None
        self.affine(node, W, C)

    def matmul(self, node):
        W = self.g.constant(node.input[1], node, "the weight")
        if W.ndim != 2:
            raise self.error(node, f"a weight of shape {list(W.shape)}; netc's affine needs a matrix")
        self.matmuls[node.output[0]] = self.affine(node, W, None)

    def add_node(self, node):
        tensors, constants = self.tensors_and_constants(node)
        if len(constants) == 1 and len(tensors) == 1 and tensors[0] in self.matmuls \
                and len(self.g.consumers[tensors[0]]) == 1:
            layer = self.layers[self.matmuls.pop(tensors[0])]   # MatMul + Add is one affine
            units = layer.spec["units"]
            try:
                layer.arrays["b"] = np.broadcast_to(self.g.constants[constants[0]], (1, units)).reshape(units)
            except ValueError:
                raise self.error(node, f"a bias of shape {list(self.g.constants[constants[0]].shape)} "
                                 f"does not fit {units} units") from None
            self.values[node.output[0]] = self.values[tensors[0]]
            return
        self.join(node, "add")

    def join(self, node, kind: str):
        tensors, constants = self.tensors_and_constants(node)
        if constants or len(tensors) < 2:
            raise self.error(node, f"netc's {kind} joins two or more layer outputs; "
                             "this one reads a constant", hint="only MatMul + Add folds a bias into an affine")
        self.add(node, {"type": kind}, reads=[self.read(node, i) for i in range(len(node.input))])

    def concat(self, node):
        rank = len(self.shape(node)) + 1
        axis = self.g.attributes(node)["axis"]
        if axis % rank != 1:
            raise self.error(node, f"joins along axis {axis}; netc concatenates channels (axis 1)")
        self.join(node, "concat")

    def activation(self, node, kind: str, default_alpha=None):
        spec = {"type": kind}
        if default_alpha is not None:
            alpha = f32(self.g.attributes(node).get("alpha", default_alpha))
            if alpha != default_alpha:
                spec["alpha"] = alpha
        self.add(node, spec)

    def prelu(self, node):
        shape = self.shape(node)
        slope = self.g.constant(node.input[1], node, "the slope")
        try:
            full = np.broadcast_to(slope, (1, *shape))
        except ValueError:
            raise self.error(node, f"slope of shape {list(slope.shape)} does not fit {list(shape)}") from None
        alpha = full[(0, slice(None)) + (0,) * (len(shape) - 1)]
        if not np.array_equal(np.broadcast_to(alpha.reshape((-1,) + (1,) * (len(shape) - 1)), full.shape[1:]),
                              full[0]):
            raise self.error(node, "its slopes vary within a channel; netc's prelu has one per channel")
        self.add(node, {"type": "prelu"}, alpha=np.array(alpha, np.float32))

    def batchnorm(self, node):
        a = self.g.attributes(node)
        if a.get("training_mode", 0):
            raise self.error(node, "training_mode=1; export the model in inference mode (model.eval())")
        self.unused_extra_outputs(node)
        gamma, beta, mean, var = (self.g.constant(n, node, what) for n, what in
                                  zip(node.input[1:5], ("the scale", "the shift", "the mean", "the variance")))
        spec = {"type": "batchnorm"}
        momentum, eps = f32(a.get("momentum", 0.9)), f32(a.get("epsilon", 1e-5))
        spec.update({k: v for k, v, default in (("momentum", momentum, 0.9), ("eps", eps, 1e-5)) if v != default})
        self.add(node, spec, gamma=gamma, beta=beta, running_mean=mean, running_var=var)

    def dropout(self, node):
        self.unused_extra_outputs(node)
        ratio = 0.5
        if len(node.input) > 1 and node.input[1]:
            ratio = f32(self.g.constant(node.input[1], node, "the ratio"))
        if len(node.input) > 2 and node.input[2] and self.g.constant(node.input[2], node, "training_mode"):
            raise self.error(node, "training_mode is true; export the model in inference mode")
        # ONNX's (and PyTorch's) dropout scales while training: netc's inverted dropout.
        self.add(node, {"type": "dropout", "ratio": ratio, "inverted": True})

    def mul(self, node):
        mark = netc_mark(node)
        tensors, constants = self.tensors_and_constants(node)
        if not mark or mark.get("op") != "dropout" or len(tensors) != 1 or len(constants) != 1:
            self.unsupported(node)
        ratio = mark["ratio"]
        if not np.allclose(self.g.constants[constants[0]], 1 - ratio):
            raise self.error(node, f"marked as dropout {ratio}, but multiplies by something else than {1 - ratio}")
        self.add(node, {"type": "dropout", "ratio": ratio})

    def softmax(self, node):
        shape = self.shape(node)
        if len(shape) != 1 or self.g.attributes(node).get("axis", -1) not in (-1, 1):
            raise self.error(node, f"a softmax over {list(shape)}; netc's softmax takes a vector")
        self.add(node, {"type": "softmax"})

    def flatten(self, node):
        shape = self.shape(node)
        if self.g.attributes(node).get("axis", 1) != 1:
            raise self.error(node, "flattens from an axis other than 1; netc keeps the batch axis")
        mark = netc_mark(node)
        if len(shape) == 1 or (mark and mark.get("op") == "affine"):
            self.alias(node)   # a vector already, or the flattening netc's affine does itself
        else:
            self.add(node, {"type": "flatten"})

    def reshape(self, node):
        shape = self.shape(node)
        try:   # two batch sizes: a reshape that folds the batch into the features shows
            results = [reshaped(self.g.onnx, self.g.model, node, self.g.shapes, self.g.constants, batch)
                       for batch in (2, 3)]
        except Exception as exc:   # numpy's and onnx's reference evaluator's errors alike
            raise self.error(node, f"cannot work out its target shape ({exc})") from None
        if results != [(2, prod(shape)), (3, prod(shape))]:
            raise self.error(node, f"reshapes a batch of {list((2, *shape))} to {list(results[0])}; "
                             "netc reshapes only to (N, features)",
                             hint="flatten to two axes, e.g. torch.flatten(x, 1)")
        self.g.shapes[node.output[0]] = (prod(shape),)   # shape inference cannot know a computed target
        if len(shape) == 1:
            self.alias(node)
        else:
            self.add(node, {"type": "flatten"})

    def identity(self, node):
        if node.input[0] in self.g.constants:   # exporters pass shared weights through Identity
            self.g.constants[node.output[0]] = self.g.constants[node.input[0]]
        elif node.output[0] == self.g.output and node.input[0] in self.values:
            self.add(node, {"type": "identity"})   # netc's regression output
        else:
            self.alias(node)

    def greater(self, node):
        tensors, constants = self.tensors_and_constants(node)
        if len(tensors) != 1 or node.input[0] != tensors[0] or np.any(self.g.constants[constants[0]] != 0):
            self.unsupported(node, " (netc reads Greater only as x > 0 before a Cast: the step function)")
        self.positives[node.output[0]] = self.read(node)

    def cast(self, node):
        if node.input[0] not in self.positives or self.g.attributes(node).get("to") != 1:   # 1: FLOAT
            self.unsupported(node)
        self.layers.append(Layer({"type": "step"}, [self.positives.pop(node.input[0])], node))
        self.values[node.output[0]] = len(self.layers) - 1

    def unsupported(self, node, note=""):
        raise self.error(node, f"op type {node.op_type} has no netc layer{note}",
                         hint="supported op types: " + ", ".join(SUPPORTED))

    # -- the walk --------------------------------------------------------------

    def run(self) -> list[Layer]:
        shape_only = shape_only_nodes(self.g.graph)
        for position, node in enumerate(self.g.graph.node):
            if position not in shape_only or node.op_type == "Constant":
                HANDLERS.get(node.op_type, Importer.unsupported)(self, node)
        if self.values.get(self.g.output) != len(self.layers) - 1 or not self.layers:
            raise self.g.error(f"the output '{self.g.output}' is not the last layer computed; "
                               "netc's network output is its last step")
        for layer in self.layers[:-1]:
            if layer.spec["type"] in ("softmax", "identity"):
                raise self.error(layer.node, f"netc's {layer.spec['type']} can only be the last layer")
        return self.layers


HANDLERS = {
    "Conv": Importer.conv,
    "MaxPool": lambda self, node: self.pool(node, "maxpool"),
    "AveragePool": lambda self, node: self.pool(node, "avgpool"),
    "GlobalAveragePool": Importer.global_average_pool,
    "ReduceMean": Importer.reduce_mean,
    "Gemm": Importer.gemm,
    "MatMul": Importer.matmul,
    "Add": Importer.add_node,
    "Sum": lambda self, node: self.join(node, "add"),
    "Concat": Importer.concat,
    "Relu": lambda self, node: self.activation(node, "relu"),
    "Sigmoid": lambda self, node: self.activation(node, "sigmoid"),
    "Tanh": lambda self, node: self.activation(node, "tanh"),
    "LeakyRelu": lambda self, node: self.activation(node, "leaky_relu", 0.01),
    "Elu": lambda self, node: self.activation(node, "elu", 1.0),
    "PRelu": Importer.prelu,
    "BatchNormalization": Importer.batchnorm,
    "Dropout": Importer.dropout,
    "Softmax": Importer.softmax,
    "Flatten": Importer.flatten,
    "Reshape": Importer.reshape,
    "Identity": Importer.identity,
    "Constant": lambda self, node: self.g.add_constant_node(node),
    "Greater": Importer.greater,
    "Cast": Importer.cast,
    "Mul": Importer.mul,
}
SUPPORTED = sorted(set(HANDLERS) - {"Greater", "Cast", "Mul"}) + \
    ["Greater + Cast (step)", "Mul (netc's own dropout)"]
