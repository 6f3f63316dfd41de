"""Stage 2: statements -> spec document (plain JSON data) plus a source map
from JSON paths to where each part was written. Checks names, placement and
arity here; types and ranges are the schema's job (validate.py)."""
from __future__ import annotations

from dataclasses import dataclass, field

from netc.errors import NetcSpecError, did_you_mean

from . import schema
from .syntax import Chain, Command, Pos, Value

TOP_LEVEL_KEYS = tuple(schema.load()["properties"])
# `search lr=log(...)`: short names for the spec paths searched most often.
SEARCH_SHORTHANDS = {"lr": "optimizer.lr", "batch": "train.batch"}
SEARCH_SETTINGS = ("trials", "epochs")
SEARCHABLE_ROOTS = ("optimizer", "train", "weight_decay", "init", "data", "layers", "seed", "schedule", "clip")
# Written once, in the schema; runtime/init.py implements exactly these (tests/test_init.py).
INITIALISERS = tuple(schema.load()["$defs"]["init"]["properties"]["type"]["enum"])


def json_value(v: Value):
    """A parsed value as JSON data: dims become lists, true/false booleans."""
    if v.kind == "dims":
        return list(v.value)
    if v.kind == "list":
        return [json_value(item) for item in v.value]
    if v.kind == "word" and v.value in ("true", "false"):
        return v.value == "true"
    if v.kind == "call":
        return {"call": v.value.name, "args": list(v.value.args)}
    return v.value


@dataclass
class Lowered:
    document: dict
    where: dict = field(default_factory=dict)     # JSON path tuple -> Pos
    errors: list = field(default_factory=list)    # NetcSpecErrors found while lowering
    broken: set = field(default_factory=set)      # paths whose lowering failed

    def is_broken(self, path) -> bool:
        """A schema error under a part that failed to lower only repeats that failure."""
        path = tuple(path)
        return any(path[:n] in self.broken for n in range(len(path) + 1))

    def position(self, path) -> Pos | None:
        """The position of the longest written prefix of a JSON path."""
        path = tuple(path)
        while path:
            if path in self.where:
                return self.where[path]
            path = path[:-1]
        return None


# -- layers -------------------------------------------------------------------

def _conv_positional(v: Value) -> dict:
    if v.kind != "dims" or len(v.value) != 3:
        raise ValueError("conv takes FxKHxKW, e.g. 'conv 30x5x5' (30 filters of 5x5)")
    return {"filters": v.value[0], "kernel": [v.value[1], v.value[2]]}


def _window_positional(v: Value) -> dict:
    if v.kind == "number" and isinstance(v.value, int):
        return {"window": [v.value, v.value]}
    if v.kind == "dims" and len(v.value) == 2:
        return {"window": list(v.value)}
    raise ValueError("a pooling window is K or KHxKW, e.g. 'pool 2' or 'pool 2x3'")


def _number_positional(key: str, example: str):
    def lower(v: Value) -> dict:
        if v.kind != "number":
            raise ValueError(f"expected a number, e.g. '{example}'")
        return {key: v.value}
    return lower


def _init_option(v: Value):
    """`init=he` names an initialiser; `init=0.01` is a standard deviation."""
    if v.kind == "number":
        return {"type": "std", "std": v.value}
    return {"type": json_value(v)}


# (lower the positional value, write it back, example) for layers that take one.
POSITIONAL = {
    "conv": (_conv_positional, lambda l: f"{l['filters']}x{l['kernel'][0]}x{l['kernel'][1]}", "conv 30x5x5"),
    "affine": (_number_positional("units", "affine 100"), lambda l: l["units"], "affine 100"),
    "dropout": (_number_positional("ratio", "dropout 0.5"), lambda l: l["ratio"], "dropout 0.5"),
}
for _pool in ("pool", "maxpool", "avgpool"):
    POSITIONAL[_pool] = (_window_positional, lambda l: _dims_text(l["window"]), f"{_pool} 2")

OPTION_VALUES = {("conv", "init"): _init_option, ("affine", "init"): _init_option}


def _dims_text(pair):
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


# -- directives ---------------------------------------------------------------

def _single(cmd: Command, what: str, kinds: tuple) -> Value:
    if len(cmd.args) != 1 or cmd.options or cmd.args[0].kind not in kinds:
        raise ValueError(f"'{cmd.name}' takes one {what}")
    return cmd.args[0]


def _input(cmd: Command, low: "Lowerer"):
    v = _single(cmd, "shape, e.g. 'input 1x28x28' or 'input 784'", ("dims", "number"))
    if v.kind == "number":
        return [v.value]
    dims = list(v.value)
    if len(dims) == 2:
        return [1] + dims            # `input 28x28` is one channel
    if len(dims) > 3:
        raise ValueError(f"an input has at most 3 dimensions (C x H x W), got {len(dims)}")
    return dims


def _name(cmd: Command, low: "Lowerer"):
    return _single(cmd, "name", ("word", "string")).value


def _scalar(kinds):
    def lower(cmd: Command, low: "Lowerer"):
        return json_value(_single(cmd, "number", kinds))
    return lower


def _typed_options(kind: str, positional_key: str | None, example: str = "", type_names=None):
    """A directive with a first word naming what it is (data NAME, optimizer TYPE,
    init TYPE), or with key=value options only (train)."""
    def lower(cmd: Command, low: "Lowerer"):
        out = {}
        if cmd.args:
            if positional_key is None or len(cmd.args) > 1:
                raise ValueError(f"'{cmd.name}' takes key=value options only"
                                 if positional_key is None else f"'{cmd.name}' takes one name, then key=value options")
            out[positional_key] = json_value(cmd.args[0])
            low.where[(cmd.name, positional_key)] = cmd.args[0].pos
        elif example and not (kind == "init" and cmd.options):
            raise ValueError(f"'{cmd.name}' needs a name first, e.g. '{example}'")
        type_ = out.get(positional_key, "")
        if type_names and type_ and type_ not in type_names:
            low.error(cmd.args[0].pos, f"unknown {cmd.name} '{type_}'", did_you_mean(str(type_), type_names))
            low.broken.add((cmd.name,))
            return out
        if kind == "init":
            known = ["std"] if type_ in ("", "std") else []   # `init std=S`; the rest take nothing
        else:
            known = schema.options(kind, type_)
        low.options(cmd, (cmd.name,), out, known, skip=positional_key)
        return out
    return lower


def _init(cmd: Command, low: "Lowerer"):
    out = _typed_options("init", "type", "init he", INITIALISERS)(cmd, low)
    if "type" not in out and "std" in out:
        out = {"type": "std", **out}   # `init std=0.01`
    return out


def _search(cmd: Command, low: "Lowerer"):
    """`search lr=log(1e-6, 1e-2) weight_decay=log(1e-8, 1e-4) trials=20 epochs=1`:
    settings are plain numbers, everything else a range over a spec path."""
    if cmd.args:
        raise ValueError("'search' takes key=range options, e.g. 'search lr=log(1e-4, 1e-1) trials=20'")
    out, space = {}, {}
    for opt in cmd.options:
        target = out if opt.key in SEARCH_SETTINGS else space
        path = ("search",) + ((opt.key,) if target is out else ("space", opt.key))
        if opt.key in target:
            low.error(opt.key_pos, f"option '{opt.key}' given twice", f"keep one '{opt.key}='")
            continue
        root = SEARCH_SHORTHANDS.get(opt.key, opt.key).split(".")[0]
        if target is space and root not in SEARCHABLE_ROOTS:
            low.broken.add(("search", "space"))
            low.error(opt.key_pos, f"cannot search '{opt.key}': not a spec path",
                      "search a dotted path such as optimizer.momentum, train.batch or layers.3.ratio; "
                      + did_you_mean(opt.key, ("lr", "weight_decay", "trials", "epochs")))
            continue
        if target is space and opt.value.kind != "call":
            low.broken.add(("search", "space"))
            low.error(opt.value.pos, f"'{opt.key}' needs a range",
                      "write log(a, b), uniform(a, b) or choice(a, b, ...)")
            continue
        target[opt.key] = json_value(opt.value)
        low.where[path] = opt.value.pos
    if not any(opt.key not in SEARCH_SETTINGS for opt in cmd.options):
        raise ValueError("'search' needs at least one range, e.g. 'search lr=log(1e-4, 1e-1)'")
    return {**out, "space": space}


def _clip(cmd: Command, low: "Lowerer"):
    """`clip norm=5` (the global gradient norm) or `clip value=1` (each value)."""
    if cmd.args or len(cmd.options) != 1:
        raise ValueError("'clip' takes one of norm=N or value=V, e.g. 'clip norm=5'")
    return _typed_options("clip", None)(cmd, low)


DIRECTIVES = {
    "network": ("name", _name),
    "input": ("input", _input),
    "data": ("data", _typed_options("data", "name", "data mnist")),
    "init": ("init", _init),
    "optimizer": ("optimizer", _typed_options("optimizer", "type", "optimizer adam lr=0.001",
                                              schema.optimizer_types())),
    "train": ("train", _typed_options("train", None)),
    "weight_decay": ("weight_decay", _scalar(("number",))),
    "seed": ("seed", _scalar(("number",))),
    "search": ("search", _search),
    "schedule": ("schedule", _typed_options("schedule", "type", "schedule cosine",
                                            schema.load()["$defs"]["schedule"]["properties"]["type"]["enum"])),
    "clip": ("clip", _clip),
}


class Lowerer:
    def __init__(self):
        self.errors: list[NetcSpecError] = []
        self.where: dict = {}
        self.broken: set = set()
        self.first_seen: dict = {}

    def error(self, pos: Pos, message: str, hint: str | None = None):
        self.errors.append(NetcSpecError(message, line=pos.line, column=pos.column, hint=hint))

    def options(self, cmd: Command, path: tuple, out: dict, known, skip=None, op=None):
        for opt in cmd.options:
            if opt.key not in known or opt.key == skip:
                known_here = [k for k in known if k != skip]
                written = " ".join([cmd.name] + [str(json_value(a)) for a in cmd.args[:1]])
                self.error(opt.key_pos, f"unknown option '{opt.key}' for '{written}'",
                           did_you_mean(opt.key, known_here) if known_here else f"'{written}' takes no options")
            elif opt.key in out:
                self.error(opt.key_pos, f"option '{opt.key}' given twice", f"keep one '{opt.key}='")
            else:
                convert = OPTION_VALUES.get((op, opt.key), json_value)
                out[opt.key] = convert(opt.value)
                self.where[path + (opt.key,)] = opt.value.pos

    def layer(self, cmd: Command, index: int) -> dict:
        path = ("layers", index)
        self.where[path] = cmd.pos
        layer = {"type": cmd.name}
        positional = POSITIONAL.get(cmd.name)
        if positional:
            lower, _, example = positional
            fields = {}
            if len(cmd.args) != 1:
                self.error(cmd.pos, f"'{cmd.name}' takes one value", f"e.g. '{example}'")
                self.broken.add(path)
            else:
                try:
                    fields = lower(cmd.args[0])
                except ValueError as exc:
                    self.error(cmd.args[0].pos, str(exc))
                    self.broken.add(path)
                for key in fields:
                    self.where[path + (key,)] = cmd.args[0].pos
                layer.update(fields)
        elif cmd.args:
            self.error(cmd.args[0].pos, f"'{cmd.name}' takes no value, only key=value options")
        self.options(cmd, path, layer, schema.options("layer", cmd.name), op=cmd.name)
        layer["line"], layer["column"] = cmd.pos.line, cmd.pos.column
        return layer

    def directive(self, cmd: Command, document: dict):
        key, lower = DIRECTIVES[cmd.name]
        if key in self.first_seen:
            first = self.first_seen[key]
            self.error(cmd.pos, f"'{cmd.name}' given twice (first on line {first.line})",
                       f"keep one '{cmd.name}' line")
            return
        self.first_seen[key] = cmd.pos
        if key == "input":
            self.where[("layers",)] = cmd.pos    # "no layers" points at the input line
        # A one-value directive (seed 1.5) is best pointed at by its value.
        single = len(cmd.args) == 1 and not cmd.options and key not in ("data", "init", "optimizer")
        self.where[(key,)] = cmd.args[0].pos if single else cmd.pos
        try:
            document[key] = lower(cmd, self)
        except ValueError as exc:
            self.error((cmd.args[0].pos if cmd.args else cmd.pos), str(exc))
            self.broken.add((key,))


KNOWN_NAMES = sorted(set(schema.layer_types()) | set(DIRECTIVES))


def lower(chains: list[Chain], default_name: str = "network") -> Lowered:
    """Chains of commands -> a spec document with every top-level key present.
    Errors are collected in the result, not raised: the schema check may still
    find independent ones."""
    low = Lowerer()
    document = {key: None for key in TOP_LEVEL_KEYS}
    document["name"], document["layers"] = default_name, []
    for chain in chains:
        for cmd in chain.commands:
            if cmd.name in DIRECTIVES:
                if len(chain.commands) > 1:
                    low.error(cmd.pos, f"'{cmd.name}' is a directive and cannot be chained with '->'",
                              "put it on a line of its own")
                else:
                    low.directive(cmd, document)
            elif cmd.name in schema.layer_types():
                document["layers"].append(low.layer(cmd, len(document["layers"])))
            else:
                low.error(cmd.pos, f"unknown layer or directive '{cmd.name}'",
                          did_you_mean(cmd.name, KNOWN_NAMES))
    if not chains:
        low.error(Pos(1, 1), "the file is empty",
                  "start with 'input 1x28x28' (or 'input 784') and a chain of layers")
    elif "input" not in low.first_seen and not low.errors:   # a typo'd `inptu` says enough
        low.error(chains[0].commands[0].pos, "no 'input' directive",
                  "add a line such as 'input 1x28x28' or 'input 784' before the layers")
    if document["input"] is None:
        low.broken.add(("input",))
    return Lowered(document, low.where, low.errors, low.broken)
