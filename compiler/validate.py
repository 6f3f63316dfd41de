"""Stage 3: spec document -> validated spec document. JSON Schema checks
types, ranges and required keys; each error names its JSON path and, for text
input, points at the line and column where the value was written."""
from __future__ import annotations

from functools import lru_cache

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import best_match

from netc.errors import NetcSpecError, did_you_mean, raise_if_any

from . import schema


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    # JSON Schema counts 10.0 as an integer; a layer of 10.0 units is a typo
    # the runtime would trip over, so integers here are Python ints.
    strict = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, x: isinstance(x, int) and not isinstance(x, bool))
    cls = validators.extend(Draft202012Validator, type_checker=strict)
    return cls(schema.load())


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


def validate(document: dict, lowered=None) -> dict:
    """Raise every independent error at once (the lowering stage's and the
    schema's); return the document."""
    errors, seen = list(lowered.errors) if lowered is not None else [], set()
    for error in _validator().iter_errors(document):
        error = best_match([error]) if error.context else error
        path = tuple(error.absolute_path)
        if path in seen or (lowered is not None and lowered.is_broken(path)):
            continue
        seen.add(path)
        message, hint = _explain(error)
        pos = lowered.position(path) if lowered is not None else None
        errors.append(NetcSpecError(f"{json_path(path)}: {message}", hint=hint,
                                    line=pos.line if pos else None,
                                    column=pos.column if pos else None))
    raise_if_any(errors)
    return document
