"""The formatter: statements or a spec document -> canonical .net text.
Text keeps its comments, blank-line groups and the user's line breaks inside
chains; a document is laid out fresh. Formatting twice changes nothing."""
from __future__ import annotations

import re

from netc.spec.ops import op_of

from . import schema
from .lower import DIRECTIVES
from .syntax import Call, Command, Value, comments, parse_statements

WIDTH = 88
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*([-.][A-Za-z0-9_]+)*\Z")


def number(x) -> str:
    """Shortest faithful spelling: 0.001, 1e-4, 2.5e-6, 100."""
    if isinstance(x, int):
        return str(x)
    text = repr(float(x))
    if "e" not in text and 0 < abs(x) < 1e-3:
        # repr writes 0.0001; learning rates and decays read better as 1e-4.
        digits = len(text.replace("-", "").replace(".", "").lstrip("0"))
        text = f"{x:.{digits - 1}e}"
    mantissa, _, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else text


def value(v) -> str:
    """A JSON value (or a parsed Value) as .net text."""
    if isinstance(v, Value):
        if v.kind == "dims":
            return "x".join(map(str, v.value))
        if v.kind == "list":
            return "[" + ", ".join(value(i) for i in v.value) + "]"
        v = v.value if v.kind != "word" or v.value not in ("true", "false") else v.value == "true"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return number(v)
    if isinstance(v, str):
        return v if _WORD.match(v) and v not in ("true", "false") else f'"{v}"'
    if isinstance(v, Call):
        return f"{v.name}(" + ", ".join(value(a) for a in v.args) + ")"
    if isinstance(v, dict) and "call" in v:
        return f"{v['call']}(" + ", ".join(value(a) for a in v["args"]) + ")"
    if isinstance(v, list):
        return "[" + ", ".join(value(i) for i in v) + "]"
    if isinstance(v, tuple):     # dimensions inside a call: log(1x28x28, ...)
        return "x".join(map(str, v))
    raise TypeError(f"cannot write {v!r} in a .net file")


def command(cmd: Command) -> str:
    parts = [cmd.name] + [value(a) for a in cmd.args]
    parts += [f"{o.key}={value(o.value)}" for o in cmd.options]
    return " ".join(parts)


# -- text ---------------------------------------------------------------------

def format_text(text: str) -> str:
    chains = parse_statements(text)
    code: dict[int, str] = {}
    for chain in chains:
        for i, cmd in enumerate(chain.commands):
            line = cmd.pos.line
            rendered = command(cmd)
            if i == 0 and chain.name is not None:
                rendered = f"{chain.name} = {rendered}"
            if line in code:
                code[line] += " -> " + rendered
            else:
                code[line] = rendered if i == 0 else "  -> " + rendered
    notes = {line: text_ for line, _, text_ in comments(text)}
    lines, raw_lines = [], text.split("\n")   # lines as the parser counts them
    for n in range(1, len(raw_lines) + 1):
        if n in code:
            lines.append(code[n] + (f"  {notes[n]}" if n in notes else ""))
        elif n in notes:
            following = next((code[m] for m in range(n + 1, len(raw_lines) + 1) if m in code), "")
            lines.append(("  " if following.startswith("  ->") else "") + notes[n])
        elif lines and lines[-1] != "":
            lines.append("")
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


# -- document -----------------------------------------------------------------

def _option_text(key, v):
    if key == "init" and isinstance(v, dict):
        v = v["std"] if v["type"] == "std" else v["type"]
    if key in ("stride", "pad") and isinstance(v, list):
        return f"{key}={v[0]}x{v[1]}"
    return f"{key}={value(v)}"


def layer_text(layer: dict) -> str:
    kind = layer["type"]
    op = op_of(kind)
    parts = [kind]
    skip = {"type", "line", "column", "inputs", "name"}
    if op.join:
        parts += layer.get("inputs", [])
    elif op.positional:
        positional = op.positional.write(layer)
        parts.append(positional if isinstance(positional, str) else value(positional))
        skip |= set(op.positional.keys)
    for key in schema.options("layer", kind):
        if key in layer and key not in skip:
            parts.append(_option_text(key, layer[key]))
    return " ".join(parts)


def _chains(layers: list[dict]) -> list[list[dict]]:
    """The layer list cut into chains: a chain ends at a named layer, and a
    layer that names its inputs starts one."""
    chains: list[list[dict]] = []
    for layer in layers:
        if not chains or "inputs" in layer or "name" in chains[-1][-1]:
            chains.append([])
        chains[-1].append(layer)
    return chains


def _chain_lines(chain: list[dict]) -> list[str]:
    """`NAME = SOURCE -> layer -> ...`, greedy fill: as many layers per line as fit in WIDTH."""
    texts = list(map(layer_text, chain))
    first = chain[0]
    if "inputs" in first and not op_of(first["type"]).join:
        texts.insert(0, first["inputs"][0])
    if "name" in chain[-1]:
        texts[0] = f"{chain[-1]['name']} = {texts[0]}"
    lines: list[str] = []
    for text in texts:
        if lines and len(lines[-1]) + 4 + len(text) <= WIDTH:
            lines[-1] += " -> " + text
        else:
            lines.append(text if not lines else "  -> " + text)
    return lines


def _directive_text(key: str, v) -> str:
    if key == "input":
        return "input " + (str(v[0]) if len(v) == 1 else "x".join(map(str, v)))
    if key == "init":
        return f"init std={number(v['std'])}" if v["type"] == "std" else f"init {v['type']}"
    if key == "search":
        ranges = [f"{k}={value(r)}" for k, r in v["space"].items()]
        return " ".join(["search"] + ranges + [f"{k}={value(v[k])}" for k in ("trials", "epochs") if k in v])
    if isinstance(v, dict):
        first = {"data": "name", "optimizer": "type", "schedule": "type"}.get(key)
        parts = [key] + ([value(v[first])] if first else [])
        parts += [f"{k}={value(x)}" for k, x in v.items() if k != first]
        return " ".join(parts)
    return f"{key} {value(v)}"


def format_document(document: dict) -> str:
    lines = [f"network {value(document['name'])}"] if document.get("name") else []
    lines.append(_directive_text("input", document["input"]))
    for chain in _chains(document.get("layers", [])):
        lines += _chain_lines(chain)
    for key in DIRECTIVES:
        if key in ("network", "input"):
            continue
        if document.get(key) is not None:
            lines.append(_directive_text(key, document[key]))
    return "\n".join(lines) + "\n"
