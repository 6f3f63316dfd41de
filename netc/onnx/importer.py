"""Import: an ONNX model -> a netc spec document, its .net text (as `netc fmt`
lays it out), its plan and its arrays by netc name; and the files they go in."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import netc
from netc.compiler.lower import DIRECTIVES
from netc.errors import NetcError
from netc.spec.ops import WORDS

from .nodes import Importer, Layer, netc_mark
from .reader import OnnxGraph, describe, load_model

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED = {"input", "true", "false", *DIRECTIVES, *WORDS}   # words a tensor may not be named


@dataclass
class Imported:
    """What an ONNX model becomes: the spec document, its .net text, its plan, its arrays."""
    document: dict
    text: str
    plan: netc.Plan
    arrays: dict               # "{index}.{op}.{name}" -> array


def _usable_name(name: str | None, output: str) -> bool:
    return name is not None and bool(_NAME.match(name)) and name not in _RESERVED and name != output


def _tensor_names(layers: list[Layer], output: str) -> dict[int, str]:
    """Names for the layers a later layer reads out of order, the model's own
    where it is a netc word; a step netc exported keeps its name in any case."""
    names = {i: layer.tensor for i, layer in enumerate(layers[:-1])
             if netc_mark(layer.node) and _usable_name(layer.tensor, output)}
    needed = {r for i, layer in enumerate(layers) if layer.reads != [i - 1] for r in layer.reads if r >= 0}
    for i in sorted(needed - set(names)):
        if _usable_name(layers[i].tensor, output) and layers[i].tensor not in names.values():
            names[i] = layers[i].tensor
    taken, counter = set(names.values()), 0
    for i in sorted(needed - set(names)):
        while f"x{counter}" in taken:
            counter += 1
        names[i] = f"x{counter}"
        taken.add(names[i])
    return names


def document(name: str, input_shape, layers: list[Layer], output: str) -> dict:
    """The spec document: layers in the model's order, graph names where needed."""
    names = _tensor_names(layers, output)
    specs = []
    for i, layer in enumerate(layers):
        spec = dict(layer.spec)
        if layer.reads != [i - 1] or (i - 1) in names:
            spec["inputs"] = [names[r] if r >= 0 else "input" for r in layer.reads]
        if i in names:
            spec["name"] = names[i]
        specs.append(spec)
    return {"name": name, "input": list(input_shape), "layers": specs}


def _network_name(model, given: str | None, path: str | None) -> str:
    """netc's own name from the metadata, else the one given, the file's stem, the graph's."""
    props = {p.key: p.value for p in model.metadata_props}
    name = props.get("netc.name") or given or (path and Path(path).stem) or model.graph.name or "imported"
    return re.sub(r'["\x00-\x1f\x7f]', "_", name)


def _check_against_onnx(g: OnnxGraph, plan, layers: list[Layer]) -> None:
    """netc's shapes must be ONNX's: a size rule netc lacks or a misread attribute shows here."""
    ops = [step["op"] for step in plan.layers]
    expected = [WORDS[layer.spec["type"]] for layer in layers]
    if ops != expected:   # the .net text must compile to the layers in the model's order
        raise g.error(f"the imported network compiles to steps {ops}, not {expected}")
    for step, layer in zip(plan.layers, layers):
        onnx_shape = g.shapes.get(layer.tensor) if layer.tensor else None
        if onnx_shape is not None and tuple(step["output_shape"]) != onnx_shape:
            raise g.error(f"{describe(layer.node)}: netc's {step['op']} gives "
                          f"{step['output_shape']}, ONNX says {list(onnx_shape)}",
                          hint="netc cannot express this node's output size")


def import_onnx(model_or_path, name: str | None = None) -> Imported:
    """An ONNX model (path or ModelProto) as a netc network; NetcError for what netc cannot express."""
    model, path = load_model(model_or_path)
    g = OnnxGraph(model, path)
    layers = Importer(g).run()
    doc = document(_network_name(model, name, path), g.shape(g.input), layers, g.output)
    try:
        text = netc.format(doc)
        plan = netc.compile(text)
    except NetcError as error:
        raise g.error(f"the imported network does not compile: {error.message}", error.hint) from None
    _check_against_onnx(g, plan, layers)
    arrays = {f"{step['index']}.{step['op']}.{key}": np.ascontiguousarray(array, np.float32)
              for step, layer in zip(plan.layers, layers) for key, array in layer.arrays.items()}
    return Imported(doc, text, plan, arrays)


def save_imported(imported: Imported, net_path, weights_path, source: str | None = None) -> None:
    """The .net file and a netc checkpoint of the imported weights, both written atomically."""
    from netc.runtime.checkpoint import save_checkpoint

    from .export import write_bytes_atomically
    save_checkpoint(weights_path, network_of(imported), meta={"name": imported.plan.name, "imported_from": source})
    write_bytes_atomically(net_path, imported.text.encode())


def network_of(imported: Imported):
    """A runtime Network of the imported plan holding the imported arrays."""
    from netc.runtime.network import Network
    network = Network(imported.plan.data)
    for name, target in {**network.params, **network.state}.items():
        array = imported.arrays[name]
        if array.shape != target.shape:
            raise NetcError(f"imported array {name} has shape {list(array.shape)}, "
                            f"the plan needs {list(target.shape)}")
        target[...] = array
    return network
