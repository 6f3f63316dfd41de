"""Stage 4a: the layers' tensor names -> each layer's inputs as layer indices.
A name is defined once, before it is read, is not an op's or a directive's
word, and is read somewhere; every layer's output is read, except the last
one's, which is the network's output. Works on documents as on text."""
from __future__ import annotations

from netc.errors import NetcSpecError, did_you_mean
from netc.spec.ops import WORDS

INPUT, INPUT_INDEX = "input", -1


def _where(locate, path) -> dict:
    line, column = locate(path)
    return {"line": line, "column": column}


def _line(layer: dict) -> str:
    return f" (line {layer['line']})" if layer.get("line") else ""


def resolve_inputs(layers: list[dict], locate, reserved) -> tuple[list[list[int]], list]:
    """([input indices] per layer, errors). A layer without `inputs` reads the
    layer before it (the first one the network's input)."""
    errors, defined, read, inputs = [], {}, set(), []
    misnamed = set()     # layers whose name was refused: "never read" would only repeat that
    later = {layer["name"]: i for i, layer in enumerate(layers) if "name" in layer}
    for index, layer in enumerate(layers):
        names = layer.get("inputs")
        if names is None:
            found = [index - 1 if index else INPUT_INDEX]
        else:
            found = []
            for k, name in enumerate(names):
                at = _where(locate, ("layers", index, "inputs", k))
                if name == INPUT:
                    found.append(INPUT_INDEX)
                elif name in defined:
                    found.append(defined[name])
                elif name in later:
                    errors.append(NetcSpecError(f"'{name}' is read before it is defined "
                                                f"(line {layers[later[name]].get('line') or '?'})",
                                                hint="define a tensor on a line above the lines that read it", **at))
                else:
                    errors.append(NetcSpecError(f"unknown tensor '{name}'",
                                                hint=did_you_mean(name, [INPUT, *defined]), **at))
        inputs.append(found)
        read.update(found)
        name = layer.get("name")
        if name is not None:
            at = _where(locate, ("layers", index, "name"))
            misnamed.add(index)
            if name in defined or name == INPUT:
                first = layers[defined[name]] if name in defined else None
                errors.append(NetcSpecError(
                    f"'{name}' is defined twice" + (f" (first on line {first['line']})" if first and first.get("line") else "")
                    if first is not None else "'input' names the network's input; a tensor needs another name",
                    hint="give each tensor a name of its own", **at))
            elif name in WORDS or name in reserved:
                errors.append(NetcSpecError(f"'{name}' is {'an op' if name in WORDS else 'a directive'}; "
                                            "a tensor needs another name",
                                            hint=f"e.g. '{name}_out' or 'h1'", **at))
            else:
                defined[name] = index
                misnamed.discard(index)
    for index, layer in enumerate(layers[:-1]):
        if index in read or index in misnamed:
            continue
        if "name" in layer:
            errors.append(NetcSpecError(f"'{layer['name']}' is defined but never read",
                                        hint=f"read it (e.g. '{layer['name']} -> ...' or 'add {layer['name']} ...') "
                                             "or delete its chain", **_where(locate, ("layers", index, "name"))))
        else:
            errors.append(NetcSpecError(f"the output of '{layer['type']}'{_line(layer)} is never read",
                                        hint="name its chain (NAME = ...) and read the name, or delete the chain",
                                        **_where(locate, ("layers", index))))
    return inputs, errors
