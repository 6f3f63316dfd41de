"""Runtime network: a plan dict -> layers that run forward, backward and train.

Parameters are named "{index}.{op}.{name}" (e.g. 0.conv.W) as in the plan docs.
The steps form a graph (graph.py); a chain is the graph where each step reads
the one before.
"""
from __future__ import annotations

import numpy as np

from netc.errors import NetcRuntimeError
from netc.spec.ops import OPS

from . import lanes
from .graph import Graph
from .init import initialise
from .layers import build_layer
from .losses import LOSSES



class NetworkError(NetcRuntimeError):
    """The network cannot do what was asked (e.g. train without a loss)."""


class Network:
    """The layers of an execution plan, run as its graph."""

    def __init__(self, plan: dict, seed: int | None = None, dtype=np.float32):
        self.plan = plan
        self.dtype = np.dtype(dtype)
        self.seed = plan.get("seed") if seed is None else seed
        # One Generator drives initialisation and then dropout masks, in order.
        self.rng = np.random.default_rng(self.seed)
        self.input_shape = tuple(plan["input_shape"])
        self.weight_decay = float(plan.get("weight_decay") or 0.0)
        self.loss_name = plan.get("loss")
        self.layers = []
        for step in plan["layers"]:
            layer = build_layer(step, self.dtype, self.rng)
            initialise(layer, step, plan.get("init"), self.rng)
            self.layers.append(layer)
        self.graph = Graph(plan["layers"])
        if any(step.get("kernel", "").startswith("numba-") for step in plan["layers"]):
            from .fast import warmup
            warmup.precompile(plan, self.dtype)   # only where the netc command enabled it
        # (layer, parameter name) pairs weight decay applies to: the op table's `decay`
        self._decayed = [(layer, name) for layer in self.layers for name in OPS[layer.op].decay]
        if self.loss_name is not None:
            if self.loss_name not in LOSSES:
                raise NetworkError(f"unknown loss {self.loss_name!r}; known: {sorted(LOSSES)}")
            if self.loss_name == "cross_entropy" and self.layers[-1].op != "softmax":
                raise NetworkError("cross_entropy needs a softmax as the last layer")
        self.lanes = lanes.Lanes(self.graph, self.layers, lambda layer: build_layer(layer.step, self.dtype),
                                 float(plan.get("total_flops") or 0), all(layer.splittable for layer in self.layers),
                                 any(layer.batch_statistics for layer in self.layers))

    def _named(self, attribute: str) -> dict[str, np.ndarray]:
        return {f"{layer.step['index']}.{layer.op}.{name}": array
                for layer in self.layers
                for name, array in getattr(layer, attribute).items()}

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Trainable arrays by name; the live arrays, so in-place updates stick."""
        return self._named("params")

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Gradients from the last backward, same names; overwritten by the next one."""
        return self._named("grads")

    @property
    def state(self) -> dict[str, np.ndarray]:
        """Non-trained state (batchnorm running statistics) by name."""
        return self._named("state")

    def prepare(self, x: np.ndarray) -> np.ndarray:
        """A batch as the first layer takes it: the network's dtype, uint8 pixels scaled to [0, 1]."""
        x = np.asarray(x)
        if x.shape[1:] != self.input_shape:
            raise ValueError(f"input of shape {x.shape} does not match "
                             f"(N, {', '.join(map(str, self.input_shape))})")
        if x.dtype == np.uint8:  # raw pixels: scale to [0, 1]
            return x.astype(self.dtype) * self.dtype.type(1 / 255)
        return x.astype(self.dtype, copy=False)

    def lane_count(self, rows: int, train: bool = True) -> int:
        """How many lanes (see lanes.py) a batch of `rows` runs in, to train or to infer."""
        return self.lanes.count(rows, train)

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        """(N, *input_shape) -> (N, *output_shape), softmax included."""
        return self.lanes.forward(self.prepare(x), len(self.layers), train)

    def predict(self, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """Inference in chunks of batch_size, bounding the im2col memory."""
        chunks = [self.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
        return np.concatenate(chunks) if chunks else np.empty((0, *self.plan["output_shape"]), self.dtype)

    def loss_layers(self) -> list:
        """The layers that produce the loss input: softmax is fused into cross-entropy."""
        if self.loss_name is None:
            raise NetworkError(f"network {self.plan.get('name', '')!r} has no loss: "
                               "it can run but not be trained")
        return self.layers[:-1] if self.loss_name == "cross_entropy" else self.layers

    def _decay_term(self) -> float:
        if not self.weight_decay:
            return 0.0
        total = sum(float(np.vdot(layer.params[name], layer.params[name])) for layer, name in self._decayed)
        return 0.5 * self.weight_decay * total

    def loss_input(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        """What the loss reads for x: the softmax's input under cross_entropy
        (the loss fuses the softmax), the network's outputs otherwise."""
        return self.lanes.forward(self.prepare(x), len(self.loss_layers()), train)

    def loss(self, x: np.ndarray, t: np.ndarray, train: bool = True) -> float:
        """Batch-mean loss plus 0.5 * weight_decay * sum(W**2)."""
        out = self.loss_input(x, train)  # first: it explains a network without a loss
        value, _ = LOSSES[self.loss_name](out, t)
        return value + self._decay_term()

    def _loss_and_grads(self, x, t) -> tuple[float, dict[str, np.ndarray]]:
        """The book's loop: forward, the loss on the whole batch, backward in reverse."""
        stop = len(self.loss_layers())
        out = self.lanes.forward(self.prepare(x), stop, train=True)
        value, dout = LOSSES[self.loss_name](out, t)
        self.lanes.backward(dout, stop)
        if self.weight_decay:
            for layer, name in self._decayed:
                layer.grads[name] += self.weight_decay * layer.params[name]
        return value + self._decay_term(), self.grads

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """Forward (train=True), fused loss, backward -> grads named like params."""
        return self._loss_and_grads(x, t)[1]

    def train_step(self, x: np.ndarray, t: np.ndarray, optimizer) -> float:
        """One optimizer step on a batch; returns the batch loss before the step."""
        value, grads = self._loss_and_grads(x, t)
        optimizer.update(self.params, grads)
        return value
