"""Runtime optimizers: update(params, grads) in place, state as plain ndarrays.

The base class validates hyperparameters and inputs, counts steps and keeps the
per-parameter slots (velocity, squared-gradient sums); subclasses do the math.
"""
from __future__ import annotations

import math

import numpy as np

from netc.errors import NetcSpecError


class OptimizerError(NetcSpecError):
    """A bad optimizer spec, or params/grads that do not belong together."""


class Optimizer:
    type: str = ""
    defaults: dict[str, float] = {}
    slots: tuple[str, ...] = ()  # per-parameter arrays, e.g. ("v",)

    def __init__(self, **hyper):
        unknown = set(hyper) - set(self.defaults)
        if unknown:
            raise OptimizerError(f"{self.type}: unknown option(s) {sorted(unknown)}; "
                                 f"known: {sorted(self.defaults)}")
        self.hyper = {**self.defaults, **{k: float(v) for k, v in hyper.items()}}
        for name, value in self.hyper.items():
            self._check(name, value)
        self.t = 0
        self.state: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self.slots}

    def _check(self, name: str, value: float) -> None:
        """lr and eps must be > 0; decay-like rates must lie in [0, 1)."""
        ok = value > 0 if name in ("lr", "eps") else 0 <= value < 1
        if not (ok and math.isfinite(value)):
            raise OptimizerError(f"{self.type}: {name}={value} is out of range")

    def update(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """One step: every params[name] is changed in place from grads[name]."""
        if params.keys() != grads.keys():
            raise OptimizerError(f"params and grads differ in names: "
                                 f"{sorted(params.keys() ^ grads.keys())}")
        self.t += 1
        for name, p in params.items():
            g = grads[name]
            if g.shape != p.shape:
                raise OptimizerError(f"{name}: grad {g.shape} does not match param {p.shape}")
            slots = [self._slot(slot, name, p) for slot in self.slots]
            self._step(p, g, *slots)

    def _slot(self, slot: str, name: str, p: np.ndarray) -> np.ndarray:
        arrays = self.state[slot]
        if name not in arrays:
            arrays[name] = np.zeros_like(p)
        return arrays[name]

    def _step(self, p: np.ndarray, g: np.ndarray, *slots: np.ndarray) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat {"step": t, "<slot>.<param name>": array} for an .npz file."""
        d = {"step": np.array(self.t, dtype=np.int64)}
        for slot, arrays in self.state.items():
            for name, array in arrays.items():
                d[f"{slot}.{name}"] = array.copy()
        return d

    def load_state_dict(self, d: dict[str, np.ndarray]) -> None:
        self.t = int(d["step"])
        self.state = {slot: {} for slot in self.slots}
        for key, array in d.items():
            if key == "step":
                continue
            slot, _, name = key.partition(".")
            if slot not in self.state:
                raise OptimizerError(f"{self.type}: unknown state entry {key!r}")
            self.state[slot][name] = np.array(array)


class SGD(Optimizer):
    type = "sgd"
    defaults = {"lr": 0.01}

    def _step(self, p, g):
        p -= self.hyper["lr"] * g


class Momentum(Optimizer):
    type = "momentum"
    defaults = {"lr": 0.01, "momentum": 0.9}
    slots = ("v",)

    def _step(self, p, g, v):
        # v = m*v - lr*g; p += v
        v *= self.hyper["momentum"]
        v -= self.hyper["lr"] * g
        p += v


class Nesterov(Optimizer):
    type = "nesterov"
    defaults = {"lr": 0.01, "momentum": 0.9}
    slots = ("v",)

    def _step(self, p, g, v):
        # v = m*v - lr*g; p += m*m*v - (1+m)*lr*g
        m, lr = self.hyper["momentum"], self.hyper["lr"]
        v *= m
        v -= lr * g
        p += (m * m) * v
        p -= ((1 + m) * lr) * g


class AdaGrad(Optimizer):
    type = "adagrad"
    defaults = {"lr": 0.01, "eps": 1e-7}
    slots = ("h",)

    def _step(self, p, g, h):
        # h += g*g; p -= lr * g / (sqrt(h) + eps)
        h += g * g
        denom = np.sqrt(h)
        denom += self.hyper["eps"]
        np.subtract(p, self.hyper["lr"] * g / denom, out=p)


class RMSprop(Optimizer):
    type = "rmsprop"
    defaults = {"lr": 0.01, "decay": 0.99, "eps": 1e-7}
    slots = ("h",)

    def _step(self, p, g, h):
        # h = decay*h + (1-decay)*g*g; p -= lr * g / (sqrt(h) + eps)
        decay = self.hyper["decay"]
        h *= decay
        h += (1 - decay) * (g * g)
        denom = np.sqrt(h)
        denom += self.hyper["eps"]
        np.subtract(p, self.hyper["lr"] * g / denom, out=p)


class Adam(Optimizer):
    type = "adam"
    defaults = {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7}
    slots = ("m", "v")

    def _step(self, p, g, m, v):
        # Kingma & Ba: m, v moving averages; p -= lr * m_hat / (sqrt(v_hat) + eps)
        b1, b2 = self.hyper["beta1"], self.hyper["beta2"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        m_hat_scale = 1.0 / (1 - b1 ** self.t)
        denom = np.sqrt(v * (1.0 / (1 - b2 ** self.t)))
        denom += self.hyper["eps"]
        np.subtract(p, (self.hyper["lr"] * m_hat_scale) * m / denom, out=p)


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.type: cls for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam)
}


def make_optimizer(spec: dict) -> Optimizer:
    """Build from the plan's optimizer dict {type, lr, ...}."""
    options = dict(spec)
    kind = options.pop("type", None)
    if kind not in OPTIMIZERS:
        raise OptimizerError(f"unknown optimizer {kind!r}; known: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[kind](**options)
