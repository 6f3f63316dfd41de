"""The two JSON Schemas, whole: the hand-written parts in netc.schema.json and
plan.schema.json, with every per-op part generated from the op table (ops.py),
so a new op needs no schema edit. `netc schema spec|plan` prints them."""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources

from .ops import OPS, Op, array_names

BOOKKEEPING = {"type": True, "line": {"$ref": "#/$defs/position"}, "column": {"$ref": "#/$defs/position"},
               "name": {"$ref": "#/$defs/tensor"}}


def _read(name: str) -> dict:
    return json.loads(resources.files("netc.spec").joinpath(name).read_text())


def _inputs(op: Op) -> dict:
    items = {"type": "array", "items": {"$ref": "#/$defs/tensor"}}
    return {**items, "minItems": 2} if op.join else {**items, "minItems": 1, "maxItems": 1}


def _layer_variant(op: Op) -> dict:
    required = ["type"] + [name for name, o in op.options.items()
                           if "default" not in o.spec and op.positional and name in op.positional.keys]
    required += ["inputs"] if op.join else []
    return {"description": op.doc, "type": "object", "additionalProperties": False, "required": required,
            "properties": {**BOOKKEEPING, "inputs": _inputs(op),
                           **{name: o.spec for name, o in op.options.items()}}}


@lru_cache(maxsize=1)
def spec_schema() -> dict:
    schema = _read("netc.schema.json")
    defs = schema["$defs"]
    words = [w for op in OPS.values() for w in (op.word, *op.aliases)]
    defs["layer"] = {
        "description": defs["layer"]["description"], "type": "object", "required": ["type"],
        "properties": {"type": {"enum": words}},
        "allOf": [{"if": {"properties": {"type": {"enum": [op.word, *op.aliases]}}},
                   "then": {"$ref": f"#/$defs/layer_{op.word}"}} for op in OPS.values()]}
    for op in OPS.values():
        defs[f"layer_{op.word}"] = _layer_variant(op)
    return schema


def _step_variant(op: Op) -> dict:
    plan_options = {name: o.plan for name, o in op.options.items() if o.plan is not None}
    params, state = array_names(op)
    then = {"properties": {
        "options": {"type": "object", "additionalProperties": False, "required": list(plan_options),
                    "properties": plan_options},
        "param_shapes": {"required": params},
        "state_shapes": {"required": state},
        "kernel": {"enum": list(op.kernels)}}}
    if op.join:
        then["required"] = ["input_shapes"]
        then["properties"]["inputs"] = {"minItems": 2}
    else:
        then["not"] = {"required": ["input_shapes"]}
        then["properties"]["inputs"] = {"maxItems": 1}
    if "init" in op.options:   # a layer with weights: the step carries W's initialiser
        then["required"] = ["init"]
    else:
        then["not"] = {"anyOf": [{"required": ["init"]}, {"required": ["literal"]}]}
    return {"if": {"properties": {"op": {"const": op.word}}}, "then": then}


@lru_cache(maxsize=1)
def plan_schema() -> dict:
    schema = _read("plan.schema.json")
    step = schema["$defs"]["step"]
    step["properties"]["op"] = {"enum": list(OPS)}
    step["properties"]["kernel"] = {"enum": sorted({k for op in OPS.values() for k in op.kernels})}
    step["allOf"] = step.get("allOf", []) + [_step_variant(op) for op in OPS.values()]
    return schema


def branch_properties(definition: dict, type_: str) -> dict:
    """The `properties` of the `if type in [...] then {...}` branch for type_."""
    for branch in definition.get("allOf", []):
        cond = branch["if"]["properties"]["type"]
        if type_ in (cond.get("enum") or [cond["const"]]):
            return branch["then"]["properties"]
    return {}


def optimizer_defaults(type_: str) -> dict:
    """{option: default} of an optimizer type, as the spec schema states them."""
    properties = branch_properties(spec_schema()["$defs"]["optimizer"], type_)
    return {key: prop["default"] for key, prop in properties.items() if isinstance(prop, dict) and "default" in prop}


def load(name: str) -> dict:
    """A whole schema by its file name; a fresh copy the caller may change."""
    return copy.deepcopy({"netc.schema.json": spec_schema, "plan.schema.json": plan_schema}[name]())
