"""Stage 3: spec document -> validated spec document. JSON Schema checks
types, ranges and required keys; each error names its JSON path and, for text
input, points at the line and column where the value was written."""
from __future__ import annotations

from functools import lru_cache

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import best_match

from netc.errors import NetcSpecError, did_you_mean, raise_if_any
from netc.spec.ops import WORDS

from . import schema


def _strict_class():
    # JSON Schema counts 10.0 as an integer; a layer of 10.0 units is a typo
    # the runtime would trip over, so integers here are Python ints.
    strict = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, x: isinstance(x, int) and not isinstance(x, bool))
    return validators.extend(Draft202012Validator, type_checker=strict)


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    """The document without its layers' options: a layer is checked against its
    own op's part alone (_layer_validator), not against every op's `if` branch,
    which kept a long network's check linear but slow."""
    whole = schema.load()
    light = {**whole, "properties": {**whole["properties"], "layers": {
        "type": "array", "items": {"type": "object", "required": ["type"],
                                   "properties": {"type": whole["$defs"]["layer"]["properties"]["type"]}}}}}
    return _strict_class()(light)


@lru_cache(maxsize=None)
def _layer_validator(word: str) -> Draft202012Validator:
    whole = schema.load()
    return _strict_class()({"$defs": whole["$defs"], "$ref": f"#/$defs/layer_{WORDS[word]}"})


def _layer_errors(layer: dict) -> list[tuple[tuple, str, str | None]]:
    """(path within the layer, message, hint) of each schema error of one layer.
    Layers alike but for their position have alike errors: a long network
    repeats a few layers, so each kind is checked once."""
    key = repr(sorted((k, v) for k, v in layer.items() if k not in ("line", "column")))
    if key not in _seen_layers:
        found = []
        for error in _layer_validator(layer["type"]).iter_errors(layer):
            error = best_match([error]) if error.context else error
            found.append((tuple(error.absolute_path), *_explain(error)))
        if len(_seen_layers) > 10_000:
            _seen_layers.clear()
        _seen_layers[key] = found
    return _seen_layers[key]


_seen_layers: dict[str, list] = {}


def _schema_errors(document: dict):
    """(path, message, hint) of every schema error of a document."""
    for error in _validator().iter_errors(document):
        error = best_match([error]) if error.context else error
        yield (tuple(error.absolute_path), *_explain(error))
    layers = document.get("layers") if isinstance(document, dict) else None
    if not isinstance(layers, list):
        return
    for index, layer in enumerate(layers):
        if isinstance(layer, dict) and isinstance(layer.get("type"), str) and layer["type"] in WORDS:
            for path, message, hint in _layer_errors(layer):
                yield ("layers", index, *path), message, hint


def json_path(path) -> str:
    """('layers', 3, 'units') -> 'layers[3].units'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "document"


def shown(x) -> str:
    """A value as a .net file spells it (true, 2x3, "text"), else its repr."""
    from .format import value
    try:
        return value(x) if not isinstance(x, str) else repr(x)
    except TypeError:
        return repr(x)


_RELATIONS = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
_TYPE_HINTS = {"boolean": "write true or false", "integer": "write a whole number, e.g. 10",
               "number": "write a number, e.g. 0.01 or 1e-6", "string": 'write a "string"'}


def _explain(error) -> tuple[str, str | None]:
    """A readable message and a hint for one jsonschema error."""
    v, kind, description = error.validator, error.validator_value, error.schema.get("description")
    if v == "enum":
        return f"unknown name {shown(error.instance)}", did_you_mean(str(error.instance), kind)
    if v == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        known = [k for k in error.schema.get("properties", {}) if k not in ("type", "line", "column")]
        return f"unknown key {', '.join(map(repr, extra))}", did_you_mean(extra[0], known)
    if v == "required":
        return error.message.replace("property", "key"), description
    if v in _RELATIONS:
        return f"{shown(error.instance)} is out of range: it must be {_RELATIONS[v]} {kind}", description
    if v == "type":
        wanted = [kind] if isinstance(kind, str) else [k for k in kind if k != "null"]
        article = "an" if wanted[0][0] in "aeiou" else "a"
        return f"{shown(error.instance)} is not {article} {' or '.join(wanted)}", _TYPE_HINTS.get(wanted[0])
    if v in ("oneOf", "anyOf"):
        return f"{shown(error.instance)} is not allowed here", description and f"expected {description}"
    if v in ("not", "const"):
        return f"{shown(error.instance)} is not allowed here", description
    if v in ("minItems", "maxItems"):
        return f"{shown(error.instance)} has the wrong number of values", description
    return error.message, description


MAX_DEPTH = 32          # literal conv weights nest 4 deep in a layer that is 3 deep


def check_json(document) -> None:
    """A document from Python is JSON data before anything else looks at it:
    string keys, finite numbers a float or a 64-bit integer holds, and no
    deeper than MAX_DEPTH. Checked without recursion, so any depth is refused
    at once."""
    if not isinstance(document, dict):
        raise NetcSpecError(f"a spec document is a dict, not {type(document).__name__}")
    stack = [((), document)]
    while stack:
        path, node = stack.pop()
        if len(path) > MAX_DEPTH:
            raise NetcSpecError(f"{json_path(path[:2])}: nested more than {MAX_DEPTH} deep")
        where = json_path(path)
        if isinstance(node, dict):
            for key, child in node.items():
                if not isinstance(key, str):
                    raise NetcSpecError(f"{where}: key {key!r} is not a string", hint="JSON keys are strings")
                stack.append((path + (key,), child))
        elif isinstance(node, list):
            stack.extend((path + (i,), child) for i, child in enumerate(node))
        elif isinstance(node, bool) or node is None or isinstance(node, str):
            continue
        elif isinstance(node, int):
            if node.bit_length() > 63:
                raise NetcSpecError(f"{where}: this number is too large", hint="integers fit in 64 bits")
        elif isinstance(node, float):
            if node != node or node in (float("inf"), float("-inf")):
                raise NetcSpecError(f"{where}: {node} is not a finite number", hint="give a finite number")
        else:
            raise NetcSpecError(f"{where}: a {type(node).__name__} is not JSON data",
                                hint="use dicts, lists, strings, numbers, booleans and None")


def validate(document: dict, lowered=None) -> dict:
    """Raise every independent error at once (the lowering stage's and the
    schema's); return the document."""
    if lowered is None:
        check_json(document)
    errors, seen = list(lowered.errors) if lowered is not None else [], set()
    for path, message, hint in _schema_errors(document):
        if path in seen or (lowered is not None and lowered.is_broken(path)):
            continue
        seen.add(path)
        pos = lowered.position(path) if lowered is not None else None
        errors.append(NetcSpecError(f"{json_path(path)}: {message}", hint=hint,
                                    line=pos.line if pos else None,
                                    column=pos.column if pos else None))
    raise_if_any(errors)
    return document
