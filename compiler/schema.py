"""The JSON Schemas (spec/schemas.py composes them), and the facts other
stages read from them: which options each optimizer and directive takes, and
their defaults. Layers' options and defaults come from the op table."""
from __future__ import annotations

from functools import lru_cache

from netc.spec import ops
from netc.spec.schemas import branch_properties, plan_schema, spec_schema


def load(name: str = "netc.schema.json") -> dict:
    """The composed schema (shared: read it, do not change it)."""
    return {"netc.schema.json": spec_schema, "plan.schema.json": plan_schema}[name]()


def _resolve(node: dict) -> dict:
    ref = node.get("$ref")
    if ref:
        return load()["$defs"][ref.rsplit("/", 1)[1]]
    return node


def layer_types() -> list[str]:
    """Every word that names a layer (`pool` as well as `maxpool`)."""
    return list(ops.WORDS)


def optimizer_types() -> list[str]:
    return load()["$defs"]["optimizer"]["properties"]["type"]["enum"]


@lru_cache(maxsize=None)
def _properties(kind: str, type_: str) -> dict:
    if kind == "layer":
        return ops.spec_options(type_) if type_ in ops.WORDS else {}
    if kind not in ("optimizer", "schedule"):
        return _resolve(load()["$defs"][kind])["properties"]
    # An optimizer's or schedule's options depend on its type: one if/then branch per type.
    return branch_properties(load()["$defs"][kind], type_)


_BOOKKEEPING = {"type", "line", "column", "inputs", "name"}


def options(kind: str, type_: str = "") -> list[str]:
    """Option names a layer type / optimizer type / directive (data, train, init) takes."""
    return [k for k in _properties(kind, type_) if k not in _BOOKKEEPING]


def defaults(kind: str, type_: str = "") -> dict:
    """{option: default} as the schema (or, for layers, the op table) states them."""
    return {key: prop["default"] for key, prop in _properties(kind, type_).items()
            if key not in _BOOKKEEPING and "default" in prop}


def top_level_default(key: str):
    return load()["properties"][key].get("default")
