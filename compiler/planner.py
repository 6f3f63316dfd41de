"""Stage 4: validated spec document -> plan dict. Infers every shape, counts
parameters and FLOPs, fills in defaults, chooses kernels. Collects every
independent error (a bad layer does not hide the next one)."""
from __future__ import annotations

from math import prod

from netc.errors import NetcShapeError, NetcSpecError, raise_if_any
from netc.spec.ops import OPS, RESOLVED_PAIR, ShapeProblem, nested_shape, op_of

from . import schema
from .graph import INPUT_INDEX, resolve_inputs
from .kernels import choose_kernel, fuse_steps, kernel_set, resolved_set
from .lower import DIRECTIVES

PLAN_FORMAT = "netc-plan/1"
DEFAULT_INIT = {"type": "xavier_uniform"}
DEFAULT_OPTIMIZER = "sgd"


def _pair(value):
    return list(value) if isinstance(value, list) else [value, value]


def resolve_options(layer: dict) -> dict:
    """The plan's options of a layer: defaults filled in, pairs spelled out,
    in the table's order (so plans read alike). Options the plan keeps
    elsewhere (a conv's `init`, literal `weights`) are left out."""
    op = op_of(layer["type"])
    given = {**schema.defaults("layer", layer["type"]), **layer}
    o = {}
    for name, option in op.options.items():
        if option.plan is None or name not in given:
            continue
        o[name] = _pair(given[name]) if option.plan == RESOLVED_PAIR else given[name]
    if "stride" in op.options:
        window = o.get("kernel") or o["window"]
        o["stride"] = _pair(given.get("stride", window))
        o["pad"] = [(k - 1) // 2 for k in window] if o["pad"] == "same" else _pair(o["pad"])
    return o


def _even_same_pad(layer: dict) -> int | None:
    """`pad=same` keeps the size only with an odd window: the even size, if any."""
    if layer.get("pad") != "same":
        return None
    window = layer.get("kernel") or layer.get("window") or []
    return next((k for k in window if k % 2 == 0), None)


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


def _shape_text(shape) -> str:
    return "x".join(map(str, shape))


class Planner:
    def __init__(self, document: dict, locate, kernels: str | None = None):
        self.document, self.locate, self.errors = document, locate, []
        self.kernels = kernel_set(kernels)

    def error(self, cls, path, message, hint=None):
        line, column = self.locate(path)
        self.errors.append(cls(message, line=line, column=column, hint=hint))

    def step(self, index: int, layer: dict, inputs: list[int], shapes: list[list[int]]) -> dict | None:
        op = op_of(layer["type"])
        even = _even_same_pad(layer)
        if even is not None:
            self.error(NetcShapeError, ("layers", index, "pad"),
                       f"{layer['type']}: pad=same needs an odd {'kernel' if op.word == 'conv' else 'window'}, "
                       f"but this one is {even} wide", "use an odd size, or give pad=N (the same on both sides)")
            return None
        options = resolve_options(layer)
        shape = shapes if op.join else shapes[0]
        try:
            out = op.output(shape, options)
        except ShapeProblem as problem:
            self.shape_error(index, layer, problem, inputs, shapes)
            return None
        param_shapes = op.params(shape, options)
        step = {
            "index": index, "op": op.word, "line": layer.get("line"), "column": layer.get("column"),
            "inputs": inputs, "input_shape": list(shapes[0]), "output_shape": out, "options": options,
            "param_shapes": param_shapes, "state_shapes": op.state(shape, options),
            "params": sum(prod(s) for s in param_shapes.values()),
            "flops": op.flops(shape, out, options),
        }
        if op.join:
            step["input_shapes"] = [list(s) for s in shapes]
        if "name" in layer:
            step["name"] = layer["name"]
        if "init" in op.options:
            step["init"] = layer.get("init") or self.document.get("init") or DEFAULT_INIT
        literal = {name: layer[key] for name, key in (("W", "weights"), ("b", "bias")) if key in layer}
        if literal:
            self.check_literal(index, layer, param_shapes, literal)
            step["literal"] = literal
        return step

    def shape_error(self, index, layer, problem: ShapeProblem, inputs, shapes):
        if problem.inputs is None:
            path = ("layers", index) + ((problem.key,) if problem.key in layer else ())
            self.error(NetcShapeError, path, f"{layer['type']}: {problem.message}", problem.hint)
            return
        # A join: name both sides, their shapes and the lines that made them.
        names = layer.get("inputs") or []
        sides, shown = [], []
        for k in problem.inputs:
            source = inputs[k]
            shown.append(names[k] if k < len(names) else "input")
            made = self.document["layers"][source].get("line") if source != INPUT_INDEX else None
            sides.append(f"{shown[-1]} is {_shape_text(shapes[k])}" + (f" (line {made})" if made else ""))
        self.error(NetcShapeError, ("layers", index),
                   f"{layer['type']}: {sides[0]} but {sides[1]}", problem.hint.format(*shown))

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
        layers = self.document["layers"]
        if not layers:
            self.error(NetcSpecError, ("layers",), "the network has no layers",
                       "add a chain such as 'affine 10 -> softmax'")
        for index, layer in enumerate(layers[:-1]):
            if op_of(layer["type"]).kind == "output":
                self.error(NetcSpecError, ("layers", index),
                           f"'{layer['type']}' is an output layer and must come last",
                           f"move '{layer['type']}' to the end of the network's last chain")
        all_inputs, errors = resolve_inputs(layers, self.locate, DIRECTIVES)
        if errors:     # without every input known, no shape can be checked
            raise_if_any(self.errors + errors)
        steps: list[dict | None] = []
        for index, (layer, inputs) in enumerate(zip(layers, all_inputs)):
            shapes = [self.document["input"] if i == INPUT_INDEX else (steps[i] or {}).get("output_shape")
                      for i in inputs]
            # A step whose input failed is not checked: its shapes would only repeat that error.
            steps.append(self.step(index, layer, inputs, shapes) if all(shapes) else None)
        raise_if_any(self.errors)
        _mark_input_grads(steps)
        for step in steps:
            step["kernel"] = choose_kernel(step, self.kernels)
        if self.kernels != "reference":
            fuse_steps(steps)
        last = steps[-1]
        loss = OPS[last["op"]].loss
        return {
            "format": PLAN_FORMAT,
            "name": self.document.get("name") or "network",
            "input_shape": list(self.document["input"]),
            "output_shape": last["output_shape"],
            "total_params": sum(s["params"] for s in steps),
            "total_flops": sum(s["flops"] for s in steps),
            "loss": loss,
            "trainable": loss is not None and all(OPS[s["op"]].differentiable for s in steps),
            "kernels": resolved_set(self.kernels),
            **_settings(self.document),
            "layers": steps,
        }


def _mark_input_grads(steps):
    """A step needs its input's gradient only when a step with parameters lies upstream."""
    upstream_params = []
    for step in steps:
        wanted = any(upstream_params[i] for i in step["inputs"] if i != INPUT_INDEX)
        step["input_grad"] = wanted
        upstream_params.append(wanted or step["params"] > 0)


def build_plan(document: dict, locate=lambda path: (None, None), kernels: str | None = None) -> dict:
    return Planner(document, locate, kernels).plan()
