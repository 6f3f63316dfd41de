"""Reshape targets an exporter computes rather than stores: PyTorch writes
`x.view(x.size(0), -1)` as Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
Those nodes compute only a shape; onnx's reference evaluator runs them."""
from __future__ import annotations

import numpy as np


def shape_only_nodes(graph) -> set[int]:
    """Positions of the nodes whose outputs only ever feed Reshape's shape input."""
    consumers: dict[str, list[tuple[int, int]]] = {}
    for position, node in enumerate(graph.node):
        for slot, name in enumerate(node.input):
            consumers.setdefault(name, []).append((position, slot))
    outputs = {value.name for value in graph.output}
    found: set[int] = set()
    for position in range(len(graph.node) - 1, -1, -1):
        names = [name for name in graph.node[position].output if name]
        uses = [use for name in names for use in consumers.get(name, [])]
        if not uses or outputs.intersection(names):
            continue
        if all(user in found or (graph.node[user].op_type == "Reshape" and slot == 1) for user, slot in uses):
            found.add(position)
    return found


def reshaped(onnx, model, reshape, shapes: dict, constants: dict, batch: int) -> tuple:
    """The shape `reshape` gives a batch of `batch`; a computed shape input is
    worked out by running the shape-only nodes on zero tensors of the right shapes.
    ValueError when it cannot be."""
    data = (batch, *shapes[reshape.input[0]])
    if reshape.input[1] in constants:
        target = [int(d) for d in constants[reshape.input[1]]]
    else:
        target = _computed(onnx, model, reshape, shapes, constants, batch)
    target = [data[i] if d == 0 else d for i, d in enumerate(target)]   # 0 copies the input's axis
    return np.empty(data, np.int8).reshape(target).shape


def _computed(onnx, model, reshape, shapes, constants, batch) -> list[int]:
    graph = model.graph
    producers = {name: node for node in graph.node for name in node.output}
    needed, stack, feeds = [], [reshape.input[1]], {}
    while stack:
        name = stack.pop()
        if name in constants or name in feeds or any(name in node.output for node in needed):
            continue
        if name not in producers:
            raise ValueError(f"the shape depends on '{name}'")
        node = producers[name]
        if node.op_type == "Shape" and shapes.get(node.input[0]) is not None:
            feeds[node.input[0]] = np.zeros((batch, *shapes[node.input[0]]), np.float32)
        needed.append(node)
        stack.extend(n for n in node.input if n and n not in feeds)
    order = {id(node): i for i, node in enumerate(graph.node)}
    needed.sort(key=lambda node: order[id(node)])
    used = {n for node in needed for n in node.input}
    sub = onnx.helper.make_graph(
        needed, "shape", [onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in feeds],
        [onnx.helper.make_tensor_value_info(reshape.input[1], onnx.TensorProto.INT64, None)],
        [onnx.numpy_helper.from_array(constants[n], n) for n in used if n in constants])
    from onnx.reference import ReferenceEvaluator
    evaluator = ReferenceEvaluator(onnx.helper.make_model(sub, opset_imports=model.opset_import))
    return [int(d) for d in evaluator.run(None, feeds)[0]]
