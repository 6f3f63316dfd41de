"""Reading an ONNX graph for import: its constants, each tensor's per-sample
shape (onnx shape inference), node attributes and who consumes what."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from netc.errors import NetcDataError

from . import require_onnx


def f32(value) -> float:
    """A float32 attribute as the shortest decimal that is the same float32 (1e-05, not 9.99999974e-06)."""
    return float(str(np.float32(value)))


def describe(node) -> str:
    """node 'NAME' (OpType); a node without a name goes by its first output."""
    if node.name:
        return f"node '{node.name}' ({node.op_type})"
    return f"the {node.op_type} node making '{node.output[0]}'"


class OnnxGraph:
    """One model's main graph, ready to walk node by node."""

    def __init__(self, model, path: str | None = None):
        self.onnx = require_onnx()
        self.model, self.path = model, path
        graph = model.graph
        self.graph = graph
        self.constants: dict[str, np.ndarray] = {
            init.name: self.onnx.numpy_helper.to_array(init) for init in graph.initializer}
        inputs = [v for v in graph.input if v.name not in self.constants]
        if len(inputs) != 1 or len(graph.output) != 1:
            raise self.error(f"the model has {len(inputs)} inputs and {len(graph.output)} outputs; "
                             "netc networks have one of each")
        self.input, self.output = inputs[0].name, graph.output[0].name
        TensorProto = self.onnx.TensorProto
        if inputs[0].type.tensor_type.elem_type not in (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16):
            kind = TensorProto.DataType.Name(inputs[0].type.tensor_type.elem_type).lower()
            raise self.error(f"the input '{self.input}' holds {kind}; netc networks take real numbers",
                             hint="export the model with a float input")
        self.consumers: dict[str, list] = defaultdict(list)
        for node in graph.node:
            for name in node.input:
                self.consumers[name].append(node)
        self.shapes = self._infer_shapes(model)

    def error(self, message: str, hint: str | None = None) -> NetcDataError:
        return NetcDataError(message, hint=hint, path=self.path)

    def _infer_shapes(self, model) -> dict[str, tuple | None]:
        """Per-sample shapes (batch axis dropped) of every tensor onnx can infer."""
        try:
            inferred = self.onnx.shape_inference.infer_shapes(model)
        except Exception as exc:   # onnx raises several unrelated types for a bad graph
            raise self.error(f"onnx cannot infer the model's shapes: {exc}") from None
        shapes = {}
        for value in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
            tensor = value.type.tensor_type
            if not tensor.HasField("shape"):
                continue
            dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
            shapes[value.name] = tuple(dims[1:]) if dims and None not in dims[1:] else None
        return shapes

    def shape(self, name: str, node=None) -> tuple:
        shape = self.shapes.get(name)
        if shape is None:
            where = describe(node) if node is not None else f"tensor '{name}'"
            raise self.error(f"{where}: the shape of '{name}' is not known",
                             hint="export the model with a fixed input size (only the batch axis may vary)")
        return shape

    def attributes(self, node) -> dict:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def constant(self, name: str, node, what: str) -> np.ndarray:
        if name not in self.constants:
            raise self.error(f"node '{node.name}' ({node.op_type}): {what} '{name}' is computed, "
                             "netc needs it stored in the model",
                             hint="export with constant folding (torch.onnx.export(..., do_constant_folding=True))")
        return self.constants[name]

    def add_constant_node(self, node) -> None:
        """A Constant node: its value joins the initialisers."""
        attributes = self.attributes(node)
        if "value" not in attributes:
            raise self.error(f"node '{node.name}' (Constant): only tensor constants are supported")
        self.constants[node.output[0]] = self.onnx.numpy_helper.to_array(attributes["value"])


def load_model(model_or_path):
    """(ModelProto, path or None); a clear error for a missing or unreadable file."""
    onnx = require_onnx()
    if isinstance(model_or_path, onnx.ModelProto):
        return model_or_path, None
    path = Path(model_or_path)
    try:
        model = onnx.load(str(path))
    except FileNotFoundError:
        raise NetcDataError("no such file", path=str(path)) from None
    except Exception as exc:   # protobuf's DecodeError and friends
        raise NetcDataError(f"not a readable ONNX model ({exc})", path=str(path),
                            hint="pass a .onnx file written by an ONNX exporter") from None
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        first = str(exc).strip().splitlines()[0]
        raise NetcDataError(f"not a valid ONNX model: {first}", path=str(path)) from None
    return model, str(path)
