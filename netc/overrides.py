"""`--set KEY=VALUE`: dotted paths into the spec document (`train.epochs=1`,
`optimizer.lr=0.01`, `layers.3.units=50`), applied to a copy of it. A whole
directive may be written in short form: `init=std:0.01`, `init=he`,
`optimizer=adam:0.001`."""
from __future__ import annotations

import copy
import json

from netc.compiler.lower import TOP_LEVEL_KEYS
from netc.errors import NetcSpecError, did_you_mean


def parse_value(text: str):
    """JSON where it parses (numbers, true/false, lists, null), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


# A directive written as TYPE or TYPE:NUMBER; the number fills this option.
DIRECTIVE_MAIN_OPTION = {"init": "std", "optimizer": "lr"}


def directive_value(key: str, text: str):
    """The document value for `key` written as `text` on the command line."""
    value = parse_value(text)
    if key not in DIRECTIVE_MAIN_OPTION or isinstance(value, dict):
        return value
    kind, sep, number = text.partition(":")
    if key == "init" and not sep and isinstance(value, (int, float)):
        kind, number, sep = "std", kind, ":"        # init=0.01 means std=0.01, as in a .net file
    value = {"type": kind}
    if sep:
        parsed = parse_value(number)
        if not isinstance(parsed, (int, float)) or isinstance(parsed, bool):
            raise NetcSpecError(f"{key}={text!r}: expected TYPE or TYPE:NUMBER, e.g. "
                                f"{'std:0.01' if key == 'init' else 'adam:0.001'}")
        value[DIRECTIVE_MAIN_OPTION[key]] = parsed
    return value


def apply_overrides(document: dict, assignments) -> dict:
    """A copy of `document` with each "a.b.c=value" assigned."""
    document = copy.deepcopy(document)
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        if not sep or not key:
            raise NetcSpecError(f"--set {assignment!r}: expected KEY=VALUE, e.g. train.epochs=1")
        path = key.split(".")
        if path[0] not in TOP_LEVEL_KEYS:
            raise NetcSpecError(f"--set {assignment!r}: unknown key {path[0]!r}",
                                hint=did_you_mean(path[0], TOP_LEVEL_KEYS))
        node = document
        for depth, part in enumerate(path[:-1]):
            node = _child(node, part, path[:depth + 1], assignment)
        _assign(node, path[-1], directive_value(key, raw), assignment)
    return document


def _index(node, part, assignment):
    try:
        return int(part)
    except ValueError:
        raise NetcSpecError(f"--set {assignment!r}: {part!r} is not a list index") from None


def _child(node, part, where, assignment):
    if isinstance(node, list):
        i = _index(node, part, assignment)
        if not -len(node) <= i < len(node):
            raise NetcSpecError(f"--set {assignment!r}: {'.'.join(where)} is past the end ({len(node)} items)")
        return node[i]
    if node.get(part) is None:
        node[part] = {}           # e.g. data.limit=5000 before any data directive
    return node[part]


def _assign(node, part, value, assignment):
    if isinstance(node, list):
        i = _index(node, part, assignment)
        if not -len(node) <= i < len(node):
            raise NetcSpecError(f"--set {assignment!r}: index {i} is past the end ({len(node)} items)")
        node[i] = value
    else:
        node[part] = value
