"""A search space (the `search` directive's `space`) -> one trial's values:
drawn from (seed, k) alone for random search, or asked of an Optuna sampler.

Trial k's random values are a pure function of (seed, k): its own Generator
seeded with [seed, k], so the configurations are the same whatever the number
of workers or the order they run in, and adding trials never changes the
earlier ones."""
from __future__ import annotations

import json
import math

import numpy as np

from netc.compiler.lower import SEARCH_SHORTHANDS as SHORTHANDS
from netc.errors import NetcSpecError

CALLS = ("log", "uniform", "choice")


def spec_path(key: str) -> str:
    return SHORTHANDS.get(key, key)


def check_space(space: dict) -> None:
    """Each entry: {"call": log|uniform|choice, "args": [...]} with usable args."""
    if not space:
        raise NetcSpecError("search: nothing to search; give e.g. lr=log(1e-4, 1e-1)")
    for key, entry in space.items():
        call, args = entry.get("call"), entry.get("args") or []
        where = f"search: {key}={call}({', '.join(map(str, args))})"
        if call not in CALLS:
            raise NetcSpecError(f"{where}: unknown call {call!r}; known: {', '.join(CALLS)}")
        if call == "choice":
            if not args:
                raise NetcSpecError(f"{where}: choice needs at least one value")
            continue
        if len(args) != 2 or not all(_is_number(a) for a in args) or not args[0] < args[1]:
            raise NetcSpecError(f"{where}: {call} needs two numbers, low < high")
        if call == "log" and args[0] <= 0:
            raise NetcSpecError(f"{where}: log needs positive bounds (it draws the exponent)")


def draw(space: dict, seed: int, trial: int) -> dict:
    """{key: value} for trial `trial`; keys as written in the space."""
    rng = np.random.default_rng([seed, trial])
    values = {}
    for key, entry in space.items():
        call, args = entry["call"], entry["args"]
        if call == "choice":
            values[key] = args[int(rng.integers(len(args)))]
            continue
        low, high = args
        if call == "log":
            value = math.exp(rng.uniform(math.log(low), math.log(high)))
        else:
            value = rng.uniform(low, high)
        # Whole-number bounds (units=uniform(50, 200)) give whole numbers;
        # real values keep 4 significant digits so tables and .net files read
        # well, kept inside the bounds so Optuna accepts them as its own.
        whole = _whole(args)
        value = min(max(int(round(value)) if whole else float(f"{value:.4g}"), low), high)
        values[key] = value if whole else float(value)
    return values


def distributions(space: dict) -> dict:
    """{key: Optuna distribution}: what a sampler such as TPE draws from."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    made = {}
    for key, entry in space.items():
        call, args = entry["call"], entry["args"]
        if call == "choice":
            made[key] = CategoricalDistribution(args)
        elif _whole(args):
            made[key] = IntDistribution(args[0], args[1], log=call == "log")
        else:
            made[key] = FloatDistribution(float(args[0]), float(args[1]), log=call == "log")
    return made


def suggest(trial, space: dict) -> dict:
    """One Optuna trial's values, in space order: the values enqueued for it
    (random search), else its sampler's."""
    from optuna.distributions import CategoricalDistribution, IntDistribution
    values = {}
    for key, made in distributions(space).items():
        if isinstance(made, CategoricalDistribution):
            values[key] = trial.suggest_categorical(key, made.choices)
        elif isinstance(made, IntDistribution):
            values[key] = trial.suggest_int(key, made.low, made.high, log=made.log)
        else:
            values[key] = trial.suggest_float(key, made.low, made.high, log=made.log)
    return values


def assignments(values: dict) -> list[str]:
    """apply_overrides strings for one trial's values."""
    return [f"{spec_path(key)}={json.dumps(value)}" for key, value in values.items()]


def _whole(args) -> bool:
    return all(isinstance(a, int) and not isinstance(a, bool) for a in args)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
