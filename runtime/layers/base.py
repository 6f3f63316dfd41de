"""Runtime layers: the base class every plan step is built on.

A layer takes one plan step (dict) and owns its params, grads and state arrays.
"""
from __future__ import annotations

import numpy as np

from netc.errors import NetcRuntimeError, NetcSpecError


class LayerError(NetcSpecError):
    """A plan step the runtime cannot build (unknown op, bad options)."""


# op word -> layer class; spec/ops.py lists the words, tests/test_op_table.py holds the two equal.
# The class runs the op's kernels named in its `kernels`; a kernel with a class
# of its own (the book-level reference conv and pooling) is in KERNELS instead.
LAYERS: dict[str, type] = {}
KERNELS: dict[tuple[str, str], type] = {}


def register(cls: type) -> type:
    """Class decorator: add a layer class under its `op` word, which can be taken only once."""
    if not cls.op:
        raise LayerError(f"{cls.__name__} has no op word")
    if cls.op in LAYERS:
        raise LayerError(f"op {cls.op!r} is already registered by {LAYERS[cls.op].__name__}")
    LAYERS[cls.op] = cls
    return cls


def register_kernel(op: str, kernel: str):
    """Class decorator: the layer class that runs `op` with `kernel`."""
    def register_class(cls: type) -> type:
        if (op, kernel) in KERNELS:
            raise LayerError(f"kernel {kernel!r} of {op!r} is already registered by {KERNELS[op, kernel].__name__}")
        KERNELS[op, kernel] = cls
        return cls
    return register_class


class NotTrainableError(NetcRuntimeError):
    """Backward was asked of a layer that has no usable gradient."""


class Layer:
    """Base layer: forward(x, train) -> y keeps what backward(dout) -> dx needs."""

    op: str = ""
    kernels = ("reference",)   # the plan kernels this class runs
    splittable = True   # rows are independent: a batch may be split across lanes
    batch_statistics = False   # training needs statistics of the whole batch: one lane then
    random = False      # draws from the network's Generator (then has draw_mask)

    def __init__(self, step: dict, dtype=np.float32, rng: np.random.Generator | None = None):
        self.step = step
        self.options = step.get("options") or {}
        self.dtype = np.dtype(dtype)
        self.rng = rng
        self.input_shape = tuple(step["input_shape"])
        self.output_shape = tuple(step["output_shape"])
        self.input_grad = bool(step.get("input_grad", True))
        # Arrays are allocated once and updated in place, so the dicts that
        # Network and the optimizer hold always see the live values.
        self.params = {name: np.zeros(shape, self.dtype)
                       for name, shape in (step.get("param_shapes") or {}).items()}
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.state = {name: np.zeros(shape, self.dtype)
                      for name, shape in (step.get("state_shapes") or {}).items()}
        self._buffer: np.ndarray | None = None

    def buffer(self, shape) -> np.ndarray:
        """A scratch array reused across calls while the batch size stays put."""
        if self._buffer is None or self._buffer.shape != tuple(shape):
            self._buffer = np.empty(shape, self.dtype)
        return self._buffer

    @staticmethod
    def same_layout(a: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """a (its dtype kept) in ref's memory order: one transposing copy if they differ.

        Elementwise work on mixed layouts (NCHW dout from an affine, HWNC
        activations from a conv) runs 2-5x slower than converting once.
        """
        if _memory_order(a) == _memory_order(ref):
            return a
        out = np.empty_like(ref, dtype=a.dtype)
        out[...] = a
        return out

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError

    def scalar(self, value) -> np.generic:
        """An option value as a scalar of the layer's dtype (no float64 upcasts)."""
        return self.dtype.type(value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.input_shape} -> {self.output_shape})"


def _memory_order(a: np.ndarray) -> tuple:
    """The axes of a from the slowest-varying in memory to the fastest."""
    return tuple(sorted(range(a.ndim), key=lambda axis: -a.strides[axis]))


class Fused(Layer):
    """A step whose work the next step does (its plan kernel is "fused"): passes data through."""

    def __init__(self, step, dtype=np.float32, rng=None):
        super().__init__(step, dtype, rng)
        self.op = step["op"]

    def forward(self, x, train=False):
        return x

    def backward(self, dout):
        return dout if self.input_grad else None
