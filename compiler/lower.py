"""Stage 2: statements -> spec document (plain JSON data) plus a source map
from JSON paths to where each part was written. Checks names, placement and
arity here; types and ranges are the schema's job (validate.py)."""
from __future__ import annotations

from dataclasses import dataclass, field

from netc.errors import NetcSpecError, did_you_mean

from netc.spec.ops import WORDS, op_of

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

def _init_option(v: Value):
    """`init=he` names an initialiser; `init=0.01` is a standard deviation."""
    if v.kind == "number":
        return {"type": "std", "std": v.value}
    return {"type": json_value(v)}


OPTION_VALUES = {("conv", "init"): _init_option, ("affine", "init"): _init_option}


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
            if cmd.args[0].kind not in ("word", "string"):
                raise ValueError(f"'{cmd.name}' takes a name first, e.g. '{example}'")
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
        op = op_of(cmd.name)
        if op.join:
            self.join_inputs(cmd, path, layer)
        elif op.positional:
            fields = {}
            if len(cmd.args) != 1:
                self.error(cmd.pos, f"'{cmd.name}' takes one value", f"e.g. '{op.positional.example}'")
                self.broken.add(path)
            else:
                try:
                    fields = op.positional.read(cmd.args[0].kind, cmd.args[0].value)
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

    def join_inputs(self, cmd: Command, path: tuple, layer: dict) -> None:
        """`add x y`, `concat a b c`: the values are the tensors joined."""
        names = []
        for k, arg in enumerate(cmd.args):
            if arg.kind != "word":
                self.error(arg.pos, f"'{cmd.name}' takes tensor names, e.g. '{cmd.name} x y'")
                self.broken.add(path)
                continue
            self.where[path + ("inputs", len(names))] = arg.pos
            names.append(arg.value)
        if len(cmd.args) < 2:
            self.error(cmd.pos, f"'{cmd.name}' needs at least two tensors", f"e.g. 'z = {cmd.name} x y'")
            self.broken.add(path)
        layer["inputs"] = names

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


KNOWN_NAMES = sorted(set(WORDS) | set(DIRECTIVES))
INPUT = "input"     # in a chain, the network's input tensor


def _is_reference(chain: Chain, cmd: Command, tensors: set) -> bool:
    """Whether a chain's first command reads a tensor (`x -> conv ...`, `y = x -> ...`)
    rather than being a layer: a bare word, defined as a tensor somewhere in the file."""
    if cmd.args or cmd.options or cmd is not chain.commands[0]:
        return False
    if cmd.name == INPUT:
        return len(chain.commands) > 1 or chain.name is not None
    return cmd.name in tensors and cmd.name not in WORDS


def _lower_chain(low: Lowerer, chain: Chain, layers: list, tensors: set) -> None:
    """One layer chain into the document's flat layer list: its first layer
    names its input when the chain starts with a tensor, its last layer
    carries the chain's name."""
    first = len(layers)
    commands = chain.commands
    source = commands[0] if _is_reference(chain, commands[0], tensors) else None
    if source is not None:
        commands = commands[1:]
        if not commands:
            low.error(source.pos, f"'{chain.name} = {source.name}' names no new layer",
                      f"use '{source.name}' itself wherever '{chain.name}' is read")
            return
    for position, cmd in enumerate(commands):
        if cmd.name in DIRECTIVES:
            low.error(cmd.pos, f"'{cmd.name}' is a directive and cannot be chained with '->'",
                      "put it on a line of its own")
        elif cmd.name in WORDS:
            if op_of(cmd.name).join and (position > 0 or source is not None):
                low.error(cmd.pos, f"'{cmd.name}' names its inputs, so it must start a chain",
                          f"write e.g. 'z = {cmd.name} x y' on a line of its own, then 'z -> ...'")
                continue
            layers.append(low.layer(cmd, len(layers)))
        elif cmd.name in tensors:
            low.error(cmd.pos, f"'{cmd.name}' is a tensor: a chain reads a tensor only at its start",
                      f"start a new line with '{cmd.name} -> ...', or join it: 'add {cmd.name} ...'")
        elif position == 0 and source is None and not (cmd.args or cmd.options):
            low.error(cmd.pos, f"unknown layer, directive or tensor '{cmd.name}'",
                      did_you_mean(cmd.name, set(KNOWN_NAMES) | tensors | {INPUT}))
        else:
            low.error(cmd.pos, f"unknown layer or directive '{cmd.name}'", did_you_mean(cmd.name, KNOWN_NAMES))
    if len(layers) == first:
        return
    if source is not None:
        layers[first]["inputs"] = [source.name]
        low.where[("layers", first, "inputs", 0)] = source.pos
    if chain.name is not None:
        layers[-1]["name"] = chain.name
        low.where[("layers", len(layers) - 1, "name")] = chain.name_pos


def lower(chains: list[Chain], default_name: str = "network") -> Lowered:
    """Chains of commands -> a spec document with every top-level key present.
    Errors are collected in the result, not raised: the schema check may still
    find independent ones. Whether tensor names are defined once, before use,
    and used is the planner's check (documents from Python need it too)."""
    low = Lowerer()
    document = {key: None for key in TOP_LEVEL_KEYS}
    document["name"], document["layers"] = default_name, []
    tensors = {chain.name for chain in chains if chain.name is not None}
    for chain in chains:
        head = chain.commands[0]
        if head.name in DIRECTIVES and chain.name is None and len(chain.commands) == 1 \
                and not _is_reference(chain, head, tensors):
            low.directive(head, document)
        else:
            _lower_chain(low, chain, document["layers"], tensors)
    if not chains:
        low.error(Pos(1, 1), "the file is empty",
                  "start with 'input 1x28x28' (or 'input 784') and a chain of layers")
    elif "input" not in low.first_seen and not low.errors:   # a typo'd `inptu` says enough
        low.error(chains[0].commands[0].pos, "no 'input' directive",
                  "add a line such as 'input 1x28x28' or 'input 784' before the layers")
    if document["input"] is None:
        low.broken.add(("input",))
    return Lowered(document, low.where, low.errors, low.broken)
