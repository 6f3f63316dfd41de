"""Stage 4: validated spec document -> plan dict. Infers every shape, counts
parameters and FLOPs, fills in defaults, chooses kernels. Collects every
independent error (a bad layer does not hide the next one)."""
from __future__ import annotations

from math import prod

from netc.errors import NetcShapeError, NetcSpecError, raise_if_any

from . import schema
from .kernels import choose_kernel, fuse_steps
from .ops import ALIASES, OPS, ShapeProblem, nested_shape

PLAN_FORMAT = "netc-plan/1"
DEFAULT_INIT = {"type": "xavier_uniform"}
DEFAULT_OPTIMIZER = "sgd"


def _pair(value):
    return list(value) if isinstance(value, list) else [value, value]


def resolve_options(layer: dict, op: str) -> dict:
    """Layer options with defaults filled and pairs spelled out."""
    given = {**schema.defaults("layer", layer["type"]), **layer}
    # In the schema's order (filters, kernel, stride, pad), so plans read alike.
    # conv and affine `init` is the weights' initialiser (the step's `init`), not an option.
    skip = ("weights", "bias", "init") if op in ("conv", "affine") else ()
    o = {k: given[k] for k in schema.options("layer", layer["type"]) if k in given and k not in skip}
    if op in ("conv", "maxpool", "avgpool"):
        window = o["kernel"] if op == "conv" else o["window"]
        o["stride"] = _pair(o.get("stride", window))
        o["pad"] = [(k - 1) // 2 for k in window] if o["pad"] == "same" else _pair(o["pad"])
    return o


def _settings(document: dict) -> dict:
    """Training settings with every default filled in."""
    optimizer = dict(document.get("optimizer") or {"type": DEFAULT_OPTIMIZER})
    optimizer = {"type": optimizer["type"], **schema.defaults("optimizer", optimizer["type"]), **optimizer}
    data = document.get("data")
    if data is not None:  # every option present: the schema's default, else None (limit, path)
        data = {**dict.fromkeys(schema.options("data")), **schema.defaults("data"), **data}
    weight_decay, seed = document.get("weight_decay"), document.get("seed")
    schedule = document.get("schedule")
    if schedule is not None:
        schedule = {"type": schedule["type"], **schema.defaults("schedule", schedule["type"]), **schedule}
    return {
        "data": data,
        "init": document.get("init") or DEFAULT_INIT,
        "optimizer": optimizer,
        "train": {**schema.defaults("train"), **(document.get("train") or {})},
        "weight_decay": schema.top_level_default("weight_decay") if weight_decay is None else weight_decay,
        "seed": schema.top_level_default("seed") if seed is None else seed,
        "schedule": schedule,
        "clip": document.get("clip"),
    }


class Planner:
    def __init__(self, document: dict, locate):
        self.document, self.locate, self.errors = document, locate, []

    def error(self, cls, path, message, hint=None):
        line, column = self.locate(path)
        self.errors.append(cls(message, line=line, column=column, hint=hint))

    def step(self, index: int, layer: dict, shape: list[int]) -> dict | None:
        op = ALIASES.get(layer["type"], layer["type"])
        rule = OPS[op]
        options = resolve_options(layer, op)
        try:
            out = rule.output(shape, options)
        except ShapeProblem as problem:
            path = ("layers", index) + ((problem.key,) if problem.key in layer else ())
            self.error(NetcShapeError, path, f"{layer['type']}: {problem.message}", problem.hint)
            return None
        param_shapes = rule.params(shape, options)
        step = {
            "index": index, "op": op, "line": layer.get("line"), "column": layer.get("column"),
            "input_shape": list(shape), "output_shape": out, "options": options,
            "param_shapes": param_shapes, "state_shapes": rule.state(shape, options),
            "params": sum(prod(s) for s in param_shapes.values()),
            "flops": rule.flops(shape, out, options),
        }
        if "W" in param_shapes:
            step["init"] = layer.get("init") or self.document.get("init") or DEFAULT_INIT
        literal = {name: layer[key] for name, key in (("W", "weights"), ("b", "bias")) if key in layer}
        if literal:
            self.check_literal(index, layer, param_shapes, literal)
            step["literal"] = literal
        return step

    def check_literal(self, index, layer, param_shapes, literal):
        for name, value in literal.items():
            key = "weights" if name == "W" else "bias"
            got, want = nested_shape(value), param_shapes[name]
            if got is None:
                self.error(NetcSpecError, ("layers", index, key),
                           f"{layer['type']} {key} must be a rectangular nested list of numbers")
            elif got != want:
                self.error(NetcShapeError, ("layers", index, key),
                           f"{layer['type']} {key} have shape {got}, but this layer needs {want}",
                           "literal weights use the seed's layout: affine in x out, conv F x C x KH x KW")

    def plan(self) -> dict:
        shape, steps = list(self.document["input"]), []
        layers = self.document["layers"]
        if not layers:
            self.error(NetcSpecError, ("layers",), "the network has no layers",
                       "add a chain such as 'affine 10 -> softmax'")
        for index, layer in enumerate(layers[:-1]):
            if OPS[ALIASES.get(layer["type"], layer["type"])].loss:
                self.error(NetcSpecError, ("layers", index),
                           f"'{layer['type']}' is an output layer and must come last",
                           f"move '{layer['type']}' to the end of the chain")
        for index, layer in enumerate(layers):
            step = self.step(index, layer, shape)
            if step is None:
                break          # later shapes depend on this one: stop at the first shape error
            steps.append(step)
            shape = step["output_shape"]
        raise_if_any(self.errors)
        _mark_input_grads(steps)
        for step in steps:
            step["kernel"] = choose_kernel(step)
        fuse_steps(steps)
        last = steps[-1]["op"]
        loss = OPS[last].loss
        return {
            "format": PLAN_FORMAT,
            "name": self.document.get("name") or "network",
            "input_shape": list(self.document["input"]),
            "output_shape": steps[-1]["output_shape"],
            "total_params": sum(s["params"] for s in steps),
            "total_flops": sum(s["flops"] for s in steps),
            "loss": loss,
            "trainable": loss is not None and all(s["op"] != "step" for s in steps),
            **_settings(self.document),
            "layers": steps,
        }


def _mark_input_grads(steps):
    """Up to the first layer with parameters, no gradient flows anywhere useful."""
    wanted = False
    for step in steps:
        step["input_grad"] = wanted
        wanted = wanted or step["params"] > 0


def build_plan(document: dict, locate=lambda path: (None, None)) -> dict:
    return Planner(document, locate).plan()
