"""The formatter: statements or a spec document -> canonical .net text.
Text keeps its comments, blank-line groups and the user's line breaks inside
chains; a document is laid out fresh. Formatting twice changes nothing."""
from __future__ import annotations

import re

from . import schema
from .lower import POSITIONAL, DIRECTIVES
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
    parts = [kind]
    skip = {"type", "line", "column"}
    if kind in POSITIONAL:
        positional = POSITIONAL[kind][1](layer)
        parts.append(positional if isinstance(positional, str) else value(positional))
        skip |= {"filters", "kernel", "units", "ratio", "window"}
    for key in schema.options("layer", kind):
        if key in layer and key not in skip:
            parts.append(_option_text(key, layer[key]))
    return " ".join(parts)


def _chain_lines(layers: list[dict]) -> list[str]:
    """Greedy fill: as many layers per line as fit in WIDTH."""
    lines: list[str] = []
    for text in map(layer_text, layers):
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
    lines += _chain_lines(document.get("layers", []))
    for key in DIRECTIVES:
        if key in ("network", "input"):
            continue
        if document.get(key) is not None:
            lines.append(_directive_text(key, document[key]))
    return "\n".join(lines) + "\n"
