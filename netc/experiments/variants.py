"""`--vary KEY=V1,V2,...`: one variant per value (or per combination of
several --vary options), each a list of `--set`-style assignments (short
forms included, see netc/overrides.py)."""
from __future__ import annotations

import itertools

from netc.errors import NetcSpecError
from netc.overrides import apply_overrides


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
        combos.append((label, [f"{k}={v}" for k, v in zip(keys, values)]))
    return combos


def apply(document: dict, sets=(), assignments=()) -> dict:
    """A copy of `document` with `--set` texts and then the variant's assignments applied."""
    return apply_overrides(apply_overrides(document, sets), assignments, flag="--vary")
