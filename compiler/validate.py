"""Stage 3: spec document -> validated spec document. JSON Schema checks
types, ranges and required keys; each error names its JSON path and, for text
input, points at the line and column where the value was written."""
from __future__ import annotations

from functools import lru_cache

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from netc.errors import NetcSpecError, did_you_mean, raise_if_any

from . import schema


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema.load())


def json_path(path) -> str:
    """('layers', 3, 'units') -> 'layers[3].units'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "document"


def _explain(error) -> tuple[str, str | None]:
    """A readable message and a hint for one jsonschema error."""
    v, kind = error.validator, error.validator_value
    if v == "enum":
        return f"{error.instance!r} is not one of the known names", did_you_mean(str(error.instance), kind)
    if v == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        known = [k for k in error.schema.get("properties", {}) if k not in ("type", "line", "column")]
        return f"unknown key {', '.join(map(repr, extra))}", did_you_mean(extra[0], known)
    if v == "required":
        return error.message.replace("property", "key"), None
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        relation = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[v]
        return f"{error.instance!r} is out of range: it must be {relation} {kind}", None
    if v == "type":
        wanted = kind if isinstance(kind, str) else " or ".join(kind)
        return f"{error.instance!r} is not a{'n' if wanted[0] in 'aeiou' else ''} {wanted}", None
    return error.message, None


def validate(document: dict, lowered=None) -> dict:
    """Raise every independent schema error at once; return the document."""
    errors, seen = [], set()
    for error in _validator().iter_errors(document):
        error = best_match([error]) if error.context else error
        path = tuple(error.absolute_path)
        if path in seen:
            continue
        seen.add(path)
        message, hint = _explain(error)
        pos = lowered.position(path) if lowered is not None else None
        errors.append(NetcSpecError(f"{json_path(path)}: {message}", hint=hint,
                                    line=pos.line if pos else None,
                                    column=pos.column if pos else None))
    raise_if_any(errors)
    return document
