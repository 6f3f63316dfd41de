"""`--set KEY=VALUE`: dotted paths into the spec document (`train.epochs=1`,
`optimizer.lr=0.01`, `layers.3.units=50`), applied to a copy of it. A whole
directive may be written in short form: `init=std:0.01`, `init=he`,
`optimizer=adam:0.001`, `data=mnist`, `schedule=cosine`; `lr=` and `batch=`
mean optimizer.lr and train.batch, as in a `search` line."""
from __future__ import annotations

import copy
import json

from netc.compiler import schema
from netc.compiler.lower import SEARCH_SHORTHANDS, TOP_LEVEL_KEYS
from netc.compiler.planner import DEFAULT_OPTIMIZER
from netc.errors import NetcSpecError, did_you_mean


def parse_value(text: str):
    """JSON where it parses (numbers, true/false, lists, null), else the string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


# A directive written as TYPE or TYPE:NUMBER: the key its TYPE fills, and the
# option its NUMBER fills (`optimizer=adam:0.001`, `schedule=exponential:0.9`).
DIRECTIVE_NAME = {"init": "type", "optimizer": "type", "schedule": "type", "data": "name"}
DIRECTIVE_MAIN_OPTION = {"init": "std", "optimizer": "lr", "schedule": "factor"}
# Directives that cannot be started from one option: they need their name first.
NAME_FIRST = {"data": "data=mnist", "schedule": "schedule=cosine"}


def directive_value(key: str, text: str, current=None):
    """The document value for `key` written as `text` on the command line.
    `data=NAME` keeps the data line's other options (validation, limit):
    they mean the same for every data set; the other directives start afresh,
    since their options depend on their type."""
    value = parse_value(text)
    if key not in DIRECTIVE_NAME or isinstance(value, dict):
        return value
    kind, sep, number = text.partition(":")
    if key == "init" and not sep and isinstance(value, (int, float)):
        kind, number, sep = "std", kind, ":"        # init=0.01 means std=0.01, as in a .net file
    if key == "data":
        return {**(current or {}), "name": text}
    value = {DIRECTIVE_NAME[key]: kind}
    if sep:
        parsed = parse_value(number)
        if not isinstance(parsed, (int, float)) or isinstance(parsed, bool):
            raise NetcSpecError(f"{key}={text!r}: expected TYPE or TYPE:NUMBER, e.g. "
                                f"{ {'init': 'std:0.01', 'optimizer': 'adam:0.001'}.get(key, 'exponential:0.9')}")
        value[DIRECTIVE_MAIN_OPTION[key]] = parsed
    return value


def apply_overrides(document: dict, assignments, flag: str = "--set") -> dict:
    """A copy of `document` with each "a.b.c=value" assigned; errors name
    `flag` (--set, --vary) and the assignment."""
    document = copy.deepcopy(document)
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        where = f"{flag} {assignment!r}"
        if not sep or not key:
            raise NetcSpecError(f"{where}: expected KEY=VALUE, e.g. train.epochs=1")
        key = SEARCH_SHORTHANDS.get(key, key)
        path = key.split(".")
        if path[0] not in TOP_LEVEL_KEYS:
            known = list(TOP_LEVEL_KEYS) + list(SEARCH_SHORTHANDS)
            raise NetcSpecError(f"{where}: unknown key {path[0]!r}", hint=did_you_mean(path[0], known))
        node = document
        for depth, part in enumerate(path[:-1]):
            node = _child(node, part, path[:depth + 1], where)
        if not isinstance(node, (dict, list)):
            _not_a_group(path[:-1], node, where)
        if len(path) == 1:
            value = directive_value(key, raw, document.get(key))
        else:
            value = parse_value(raw)
            _check_layer_option(document, path, where)
        _assign(node, path[-1], value, where)
    return document


def _index(node, part, where):
    try:
        return int(part)
    except ValueError:
        raise NetcSpecError(f"{where}: {part!r} is not a list index",
                            hint=f"count from 0: 0 to {len(node) - 1}") from None


def _child(node, part, path, where):
    if isinstance(node, list):
        i = _index(node, part, where)
        if not -len(node) <= i < len(node):
            raise NetcSpecError(f"{where}: {'.'.join(path)} is past the end ({len(node)} items)",
                                hint=f"count from 0: 0 to {len(node) - 1}")
        return node[i]
    if not isinstance(node, dict):
        _not_a_group(path[:-1], node, where)
    if node.get(part) is None:
        if len(path) == 1 and part in NAME_FIRST:
            raise NetcSpecError(f"{where}: this network has no '{part}' line to change",
                                hint=f"give its name first, e.g. --set {NAME_FIRST[part]}")
        # e.g. optimizer.lr=0.1 with no optimizer line: the default optimizer's lr
        node[part] = {"type": DEFAULT_OPTIMIZER} if path == ["optimizer"] else {}
    return node[part]


def _not_a_group(path, value, where):
    raise NetcSpecError(f"{where}: {'.'.join(path)} is a value ({json.dumps(value)}), "
                        "not a group of keys: there is nothing inside it to set",
                        hint=f"set it as a whole, e.g. --set {'.'.join(path)}=...")


def _check_layer_option(document, path, where):
    """`layers.N.KEY`: KEY must be an option of that layer (the schema would
    only say 'unknown key', and nothing helpful for a layer without options)."""
    if path[0] != "layers" or len(path) != 3:
        return
    layers = document.get("layers") or []
    try:
        layer = layers[int(path[1])]
    except (ValueError, IndexError):
        return                          # _child reported it already
    known = [k for k in schema.options("layer", layer.get("type", "")) if k not in ("weights", "bias")]
    if path[2] not in known and path[2] not in ("weights", "bias", "type"):
        raise NetcSpecError(f"{where}: layer {path[1]} ('{layer.get('type')}') has no option {path[2]!r}",
                            hint=did_you_mean(path[2], known) if known
                            else f"'{layer.get('type')}' takes no options")


def _assign(node, part, value, where):
    if isinstance(node, list):
        i = _index(node, part, where)
        if not -len(node) <= i < len(node):
            raise NetcSpecError(f"{where}: index {i} is past the end ({len(node)} items)",
                                hint=f"count from 0: 0 to {len(node) - 1}")
        node[i] = value
    else:
        node[part] = value
