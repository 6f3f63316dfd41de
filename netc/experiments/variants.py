"""Command-line values -> spec-document assignments: `--vary KEY=V1,V2` and
`--set KEY=VALUE` where a whole directive may be written in short form
(`init=std:0.01`, `init=he`, `optimizer=adam:0.001`)."""
from __future__ import annotations

import itertools
import json

from netc.errors import NetcSpecError
from netc.overrides import apply_overrides, parse_value

# A directive written as TYPE or TYPE:NUMBER; the number fills this option.
DIRECTIVE_MAIN_OPTION = {"init": "std", "optimizer": "lr"}


def directive_value(key: str, text: str):
    """The document value for `key` written as `text` on the command line."""
    if key not in DIRECTIVE_MAIN_OPTION:
        return parse_value(text)
    kind, sep, number = text.partition(":")
    if key == "init" and not sep and isinstance(parse_value(kind), (int, float)):
        kind, number, sep = "std", kind, ":"        # init=0.01 means std=0.01, as in a .net file
    value = {"type": kind}
    if sep:
        parsed = parse_value(number)
        if not isinstance(parsed, (int, float)) or isinstance(parsed, bool):
            raise NetcSpecError(f"{key}={text!r}: expected TYPE or TYPE:NUMBER, e.g. "
                                f"{'std:0.01' if key == 'init' else 'adam:0.001'}")
        value[DIRECTIVE_MAIN_OPTION[key]] = parsed
    return value


def assignment(key: str, text: str) -> str:
    """`key=text` as an apply_overrides string (values JSON-encoded)."""
    return f"{key}={json.dumps(directive_value(key, text))}"


def parse_vary(option: str) -> tuple[str, list[str]]:
    """"optimizer.type=sgd,adam" -> ("optimizer.type", ["sgd", "adam"])."""
    key, sep, values = option.partition("=")
    texts = [v.strip() for v in values.split(",") if v.strip()]
    if not sep or not key or not texts:
        raise NetcSpecError(f"--vary {option!r}: expected KEY=V1,V2,..., e.g. optimizer.type=sgd,adam")
    return key, texts


def expand(varies: list[str]) -> list[tuple[str, list[str]]]:
    """Every combination of the --vary options: (label, assignments) pairs;
    one unnamed variant when nothing varies."""
    parsed = [parse_vary(option) for option in varies]
    if not parsed:
        return [("", [])]
    combos = []
    for values in itertools.product(*(texts for _, texts in parsed)):
        keys = [key for key, _ in parsed]
        label = ",".join(values) if len(parsed) == 1 else ",".join(f"{k}={v}" for k, v in zip(keys, values))
        combos.append((label, [assignment(k, v) for k, v in zip(keys, values)]))
    return combos


def apply(document: dict, sets=(), assignments=()) -> dict:
    """A copy of `document` with `--set` texts and ready assignments applied."""
    ready = [assignment(*s.split("=", 1)) if "=" in s else s for s in sets]
    return apply_overrides(document, ready + list(assignments))
