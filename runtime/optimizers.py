"""Runtime optimizers: update(params, grads) in place, state as plain ndarrays.

The base class validates hyperparameters and inputs, counts steps and keeps the
per-parameter slots (velocity, squared-gradient sums); subclasses do the math.
"""
from __future__ import annotations

import math

import numpy as np

from netc.errors import NetcSpecError
from netc.spec.schemas import optimizer_defaults

from . import fast


class OptimizerError(NetcSpecError):
    """A bad optimizer spec, or params/grads that do not belong together."""


# Slots that decay while their gradient stays exactly zero (a dead unit's
# weights: Adam's m shrinks by beta1 each step) reach subnormal floats after a
# few hundred steps, and arithmetic on subnormals is ~100x slower on x86: a run
# slowed 6x that way. Every FLUSH_EVERY steps, slot values below TINY become 0;
# their effect on any update is below float32 resolution (see _flush).
FLUSH_EVERY = 50
TINY = 1e-30


class Optimizer:
    type: str = ""
    slots: tuple[str, ...] = ()  # per-parameter arrays, e.g. ("v",)

    def __init__(self, **hyper):
        # The defaults are the spec schema's, the one place they are written.
        defaults = optimizer_defaults(self.type)
        unknown = set(hyper) - set(defaults)
        if unknown:
            raise OptimizerError(f"{self.type}: unknown option(s) {sorted(unknown)}; "
                                 f"known: {sorted(defaults)}")
        self.hyper = {**defaults, **{k: float(v) for k, v in hyper.items()}}
        for name, value in self.hyper.items():
            self._check(name, value)
        self.t = 0
        self.state: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self.slots}
        self._compiled = None  # a compiled update, after compile()

    def compile(self) -> None:
        """Use a compiled update where this optimizer has one (Adam); else keep NumPy's."""

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
            if self.t % FLUSH_EVERY == 0:
                self._flush(slots)

    @staticmethod
    def _flush(slots) -> None:
        """Zero slot values below TINY. From TINY a beta1=0.9 decay needs ~175
        steps to go subnormal, so flushing every 50 steps always comes first."""
        for a in slots:
            np.copyto(a, 0, where=np.abs(a) < TINY)

    def _slot(self, slot: str, name: str, p: np.ndarray) -> np.ndarray:
        arrays = self.state[slot]
        if name not in arrays:
            arrays[name] = np.zeros_like(p)
        return arrays[name]

    def _step(self, p: np.ndarray, g: np.ndarray, *slots: np.ndarray) -> None:
        raise NotImplementedError

    def _scratch(self, p: np.ndarray) -> np.ndarray:
        """A work array shaped like p, reused across steps (not part of the state)."""
        buffers = self.__dict__.setdefault("_buffers", {})
        key = (p.shape, p.dtype)
        if key not in buffers:
            buffers[key] = np.empty_like(p)
        return buffers[key]

    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat {"step": t, "<slot>.<param name>": array} for an .npz file."""
        d = {"step": np.array(self.t, dtype=np.int64)}
        for slot, arrays in self.state.items():
            for name, array in arrays.items():
                d[f"{slot}.{name}"] = array.copy()
        return d

    def load_state_dict(self, d: dict[str, np.ndarray], params: dict[str, np.ndarray] | None = None) -> None:
        """Restore state_dict() output. With `params`, every entry is checked
        against them first: a step count, and for a started optimizer one
        array per slot and parameter, of the parameter's shape."""
        if params is not None:
            self._check_state(d, params)
        self.t = int(d["step"])
        self.state = {slot: {} for slot in self.slots}
        for key, array in d.items():
            if key == "step":
                continue
            slot, _, name = key.partition(".")
            if slot not in self.state:
                raise OptimizerError(f"{self.type}: unknown state entry {key!r}")
            self.state[slot][name] = np.array(array, dtype=params[name].dtype if params else None)

    def _check_state(self, d: dict[str, np.ndarray], params: dict[str, np.ndarray]) -> None:
        step = d.get("step")
        if step is None or np.shape(step) != () or not np.issubdtype(np.asarray(step).dtype, np.integer) \
                or int(step) < 0:
            raise OptimizerError(f"{self.type}: no step count (a whole number >= 0)")
        expected = {f"{slot}.{name}": p.shape for slot in self.slots for name, p in params.items()}
        unknown = sorted(set(d) - set(expected) - {"step"})
        if unknown:
            raise OptimizerError(f"{self.type}: unknown state entries {unknown[:5]}")
        present = set(d) & set(expected)
        if int(step) > 0 and present != set(expected):
            missing = sorted(set(expected) - present)
            raise OptimizerError(f"{self.type}: {len(missing)} state entries missing, e.g. {missing[0]!r}")
        for key in present:
            if np.shape(d[key]) != expected[key]:
                raise OptimizerError(f"{self.type}: {key!r} has shape {list(np.shape(d[key]))}, "
                                     f"its parameter {list(expected[key])}")


class SGD(Optimizer):
    type = "sgd"

    def _step(self, p, g):
        p -= self.hyper["lr"] * g


class Momentum(Optimizer):
    type = "momentum"
    slots = ("v",)

    def _step(self, p, g, v):
        # v = m*v - lr*g; p += v
        v *= self.hyper["momentum"]
        v -= self.hyper["lr"] * g
        p += v


class Nesterov(Optimizer):
    type = "nesterov"
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
    slots = ("h",)

    def _step(self, p, g, h):
        # h += g*g; p -= lr * g / (sqrt(h) + eps)
        h += g * g
        denom = np.sqrt(h)
        denom += self.hyper["eps"]
        np.subtract(p, self.hyper["lr"] * g / denom, out=p)


class RMSprop(Optimizer):
    type = "rmsprop"
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
    slots = ("m", "v")

    def compile(self) -> None:
        """Update with one compiled pass per parameter (runtime/fast/optim.py), same results."""
        self._compiled = fast.load("optim", "numba-adam").adam

    def _step(self, p, g, m, v):
        # Kingma & Ba: m, v moving averages; p -= lr * m_hat / (sqrt(v_hat) + eps),
        # in place with one scratch array (temporaries cost more than the math).
        b1, b2 = self.hyper["beta1"], self.hyper["beta2"]
        if self._compiled is not None and p.flags.c_contiguous and g.flags.c_contiguous:
            scalar = p.dtype.type  # NumPy computes a float32 array's update in float32 too
            self._compiled(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), scalar(b1), scalar(b2),
                           scalar(1 - b1), scalar(1 - b2), scalar(math.sqrt(1.0 / (1 - b2 ** self.t))),
                           scalar(self.hyper["eps"]), scalar(self.hyper["lr"] / (1 - b1 ** self.t)))
            return
        tmp = self._scratch(p)
        m *= b1
        np.multiply(g, 1 - b1, out=tmp)
        m += tmp
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp *= math.sqrt(1.0 / (1 - b2 ** self.t))  # sqrt(v_hat) = sqrt(v) * sqrt(1/(1-b2^t))
        tmp += self.hyper["eps"]
        np.divide(m, tmp, out=tmp)
        tmp *= self.hyper["lr"] / (1 - b1 ** self.t)
        p -= tmp


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.type: cls for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam)
}


def make_optimizer(spec: dict, compiled: bool = False) -> Optimizer:
    """Build from the plan's optimizer dict {type, lr, ...}; `compiled`: with its
    compiled update, if it has one (the plan's kernel set is numba)."""
    options = dict(spec)
    kind = options.pop("type", None)
    if kind not in OPTIMIZERS:
        raise OptimizerError(f"unknown optimizer {kind!r}; known: {', '.join(OPTIMIZERS)}")
    optimizer = OPTIMIZERS[kind](**options)
    if compiled:
        optimizer.compile()
    return optimizer
