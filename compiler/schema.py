"""The JSON Schemas in spec/, loaded once, and the facts other stages read
from them: which options each layer, optimizer and directive takes, and their
defaults. The schema is the one place those are written down."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def load(name: str = "netc.schema.json") -> dict:
    return json.loads(resources.files("netc.spec").joinpath(name).read_text())


def _resolve(node: dict) -> dict:
    ref = node.get("$ref")
    if ref:
        return load()["$defs"][ref.rsplit("/", 1)[1]]
    return node


def _branches(definition: dict, key: str):
    """(values, then-schema) for each `if key in values then ...` branch."""
    for branch in definition.get("allOf", []):
        cond = branch["if"]["properties"][key]
        values = cond.get("enum") or [cond["const"]]
        yield values, _resolve(branch["then"])


def layer_types() -> list[str]:
    return load()["$defs"]["layer"]["properties"]["type"]["enum"]


def optimizer_types() -> list[str]:
    return load()["$defs"]["optimizer"]["properties"]["type"]["enum"]


@lru_cache(maxsize=None)
def _properties(kind: str, type_: str) -> dict:
    if kind not in ("layer", "optimizer", "schedule"):
        return _resolve(load()["$defs"][kind])["properties"]
    # A layer's, optimizer's or schedule's options depend on its type: one if/then branch per type.
    for values, then in _branches(load()["$defs"][kind], "type"):
        if type_ in values:
            return then["properties"]
    return {}


_BOOKKEEPING = {"type", "line", "column"}


def options(kind: str, type_: str = "") -> list[str]:
    """Option names a layer type / optimizer type / directive (data, train, init) takes."""
    return [k for k in _properties(kind, type_) if k not in _BOOKKEEPING]


def defaults(kind: str, type_: str = "") -> dict:
    """{option: default} as the schema states them."""
    out = {}
    for key, prop in _properties(kind, type_).items():
        if key not in _BOOKKEEPING and "default" in prop:
            out[key] = prop["default"]
    return out


def top_level_default(key: str):
    return load()["properties"][key].get("default")
