"""Export: a plan and its weights -> an ONNX model (onnx.ModelProto), one
emitter per netc op, at inference semantics, with the batch axis symbolic."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

import netc
from netc.errors import NetcDataError, NetcError
from netc.spec.ops import OPS

from . import DEFAULT_OPSET, OPSETS, require_onnx

INPUT, OUTPUT, BATCH = "input", "output", "N"
MARK = "netc "   # doc_string prefix of nodes that stand for a netc step: "netc {json}"


def mark(index: int, op: str, **details) -> str:
    """The doc_string that tells the importer which netc step a node came from."""
    return MARK + json.dumps({"step": index, "op": op, **details})


class GraphBuilder:
    """Nodes and initialisers in the order they are written."""

    def __init__(self, onnx):
        self.onnx, self.nodes, self.initializers = onnx, [], []

    def constant(self, name: str, array) -> str:
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array, np.float32), name))
        return name

    def node(self, op_type: str, inputs: list[str], output: str, name: str, doc: str, **attributes) -> str:
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [output], name=name,
                                                     doc_string=doc, **attributes))
        return output


def _pads(pad) -> list[int]:
    """netc pads both sides of an axis alike: [PH, PW] -> ONNX [top, left, bottom, right]."""
    return [pad[0], pad[1], pad[0], pad[1]]


def _window(o, key) -> dict:
    return {"kernel_shape": list(o[key]), "strides": list(o["stride"]), "pads": _pads(o["pad"])}


def _conv(g, s, x, w, out, name, doc):
    o = s["options"]
    return g.node("Conv", [x, g.constant(f"{name}.W", w["W"]), g.constant(f"{name}.b", w["b"])],
                  out, name, doc, **_window(o, "kernel"))


def _maxpool(g, s, x, w, out, name, doc):
    # ONNX MaxPool ignores padded cells, as netc's -inf padding does.
    return g.node("MaxPool", [x], out, name, doc, **_window(s["options"], "window"))


def _avgpool(g, s, x, w, out, name, doc):
    # netc's average counts padded zeros in the window.
    return g.node("AveragePool", [x], out, name, doc, count_include_pad=1, **_window(s["options"], "window"))


def _affine(g, s, x, w, out, name, doc):
    if len(s["input_shape"]) > 1:   # affine flattens C, H, W itself; the mark folds it back on import
        x = g.node("Flatten", [x], f"{name}.flat", f"{name}.flatten", doc, axis=1)
    return g.node("Gemm", [x, g.constant(f"{name}.W", w["W"]), g.constant(f"{name}.b", w["b"])],
                  out, name, doc)


def _step(g, s, x, w, out, name, doc):
    positive = g.node("Greater", [x, g.constant(f"{name}.zero", 0.0)], f"{name}.positive",
                      f"{name}.greater", doc)
    return g.node("Cast", [positive], out, name, doc, to=g.onnx.TensorProto.FLOAT)


def _per_channel(s, array):
    """A (C,) array shaped to broadcast over (N, C, H, W): (C, 1, 1)."""
    return np.asarray(array).reshape((-1,) + (1,) * (len(s["input_shape"]) - 1))


def _prelu(g, s, x, w, out, name, doc):
    return g.node("PRelu", [x, g.constant(f"{name}.alpha", _per_channel(s, w["alpha"]))], out, name, doc)


def _batchnorm(g, s, x, w, out, name, doc):
    o = s["options"]
    inputs = [g.constant(f"{name}.{key}", w[key]) for key in ("gamma", "beta", "running_mean", "running_var")]
    return g.node("BatchNormalization", [x, *inputs], out, name, doc,
                  epsilon=float(o["eps"]), momentum=float(o["momentum"]))


def _dropout(g, s, x, w, out, name, doc):
    o = s["options"]
    if o.get("inverted"):   # inference is the identity, as in ONNX's Dropout
        return g.node("Dropout", [x, g.constant(f"{name}.ratio", o["ratio"])], out, name, doc)
    # The book's dropout scales by the keep probability at inference: a Mul,
    # marked so that import brings back a dropout, not a constant factor.
    doc = mark(s["index"], "dropout", ratio=o["ratio"])
    return g.node("Mul", [x, g.constant(f"{name}.keep", 1.0 - o["ratio"])], out, name, doc)


def _simple(op_type, **fixed):
    def emit(g, s, x, w, out, name, doc):
        attributes = {k: (v(s["options"]) if callable(v) else v) for k, v in fixed.items()}
        return g.node(op_type, [x], out, name, doc, **attributes)
    return emit


def _joined(g, s, inputs, out, name, doc):
    """The steps that read several tensors (graphs)."""
    if s["op"] == "concat":
        return g.node("Concat", inputs, out, name, doc, axis=1)
    return g.node("Add" if len(inputs) == 2 else "Sum", inputs, out, name, doc)


EMITTERS = {
    "conv": _conv,
    "maxpool": _maxpool,
    "avgpool": _avgpool,
    "affine": _affine,
    "flatten": _simple("Flatten", axis=1),
    "relu": _simple("Relu"),
    "sigmoid": _simple("Sigmoid"),
    "tanh": _simple("Tanh"),
    "step": _step,
    "leaky_relu": _simple("LeakyRelu", alpha=lambda o: float(o["alpha"])),
    "prelu": _prelu,
    "elu": _simple("Elu", alpha=lambda o: float(o["alpha"])),
    "batchnorm": _batchnorm,
    "dropout": _dropout,
    "softmax": _simple("Softmax", axis=-1),
    "identity": _simple("Identity"),
}


def _resolve_plan(plan):
    if isinstance(plan, netc.Plan):
        return plan
    from netc.training import resolve_plan
    return resolve_plan(plan)


def _arrays(plan, network_or_weights) -> dict[str, np.ndarray]:
    """Parameters and state by netc name, from a Network, a Model, a dict or a
    weights file; None: the plan's own (literal weights, else the seed's initialisation)."""
    from netc.runtime.network import Network
    if network_or_weights is None:
        network = Network(plan.data)
        return {**network.params, **network.state}
    source = getattr(network_or_weights, "network", network_or_weights)
    if hasattr(source, "params") and hasattr(source, "state"):
        return {**source.params, **source.state}
    if isinstance(source, dict):
        return source
    from netc.runtime.checkpoint import load_weights
    from netc.training import weights_path
    network = Network(plan.data)
    load_weights(weights_path(source), network)
    return {**network.params, **network.state}


def _step_weights(step, arrays) -> dict[str, np.ndarray]:
    shapes = {**(step.get("param_shapes") or {}), **(step.get("state_shapes") or {})}
    found = {}
    for key, shape in shapes.items():
        full = f"{step['index']}.{step['op']}.{key}"
        if full not in arrays:
            raise NetcDataError(f"no array {full!r} for layer {step['index']} '{step['op']}'",
                                hint="pass the network's checkpoint (netc train writes one)")
        found[key] = np.asarray(arrays[full], np.float32)
        if list(found[key].shape) != list(shape):
            raise NetcDataError(f"array {full!r} has shape {list(found[key].shape)}, the plan needs {list(shape)}")
    return found


def _value_info(onnx, name, shape):
    return onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, [BATCH, *shape])


def build_model(plan, arrays: dict, opset: int = DEFAULT_OPSET):
    """The ONNX ModelProto of a compiled plan and its arrays by netc name."""
    onnx = require_onnx()
    if opset not in OPSETS:
        raise NetcError(f"opset {opset} is not supported; export writes opsets "
                        f"{OPSETS.start}-{OPSETS.stop - 1}", hint=f"use --opset {DEFAULT_OPSET}")
    g = GraphBuilder(onnx)
    steps = plan.layers
    outputs: dict[int, str] = {-1: INPUT}
    for step in steps:
        index, op = step["index"], step["op"]
        reads = [outputs[i] for i in step.get("inputs", [index - 1])]
        name = f"{index}.{op}"
        # A named step keeps its name, so that import can give it back
        # (but the graph's output tensor is called `output`, whatever a step is called).
        named = step.get("name") if step.get("name") != OUTPUT else None
        out = OUTPUT if index == len(steps) - 1 else named or name
        doc = mark(index, op)
        if OPS[op].join:
            outputs[index] = _joined(g, step, reads, out, name, doc)
        else:
            outputs[index] = EMITTERS[op](g, step, reads[0], _step_weights(step, arrays), out, name, doc)
    graph = onnx.helper.make_graph(g.nodes, plan.name, [_value_info(onnx, INPUT, plan.input_shape)],
                                   [_value_info(onnx, OUTPUT, plan.output_shape)], g.initializers)
    opsets = [onnx.helper.make_opsetid("", opset)]
    model = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="netc",
                                   producer_version=netc.__version__,
                                   ir_version=onnx.helper.find_min_ir_version_for(opsets))
    model.doc_string = f"netc network '{plan.name}'"
    onnx.helper.set_model_props(model, {"netc.name": plan.name, "netc.version": netc.__version__})
    return model


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Temporary file beside the target, fsync, rename: never half a model."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_onnx(plan, network_or_weights, path=None, opset: int = DEFAULT_OPSET):
    """Build the model, check it with onnx's full checker, write it to `path`."""
    onnx = require_onnx()
    plan = _resolve_plan(plan)
    model = build_model(plan, _arrays(plan, network_or_weights), opset)
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:   # a bug in an emitter, not in the user's input
        raise NetcError(f"the exported model fails onnx's checker: {exc}") from None
    if path is not None:
        write_bytes_atomically(path, model.SerializeToString())
    return model
