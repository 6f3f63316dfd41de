"""Runtime graph execution: a plan's steps run in order, each reading the
outputs of the steps its `inputs` name (-1: the network's input).

Forward keeps each output only until its last reader has run; backward runs
the steps in reverse and sums the gradients of an output read by several
steps. This is the book's loop (forward, then backward in reverse) with a
dictionary in place of the single running value."""
from __future__ import annotations

import time

import numpy as np

INPUT = -1


class Graph:
    """Who reads what, worked out once from the plan's steps."""

    def __init__(self, steps: list[dict]):
        self.inputs = [list(step.get("inputs", [step["index"] - 1])) for step in steps]
        self.joins = [len(step.get("input_shapes") or []) > 0 for step in steps]
        # The step after which each output (and the input, -1) is read no more.
        self.last_read: dict[int, int] = {}
        for index, inputs in enumerate(self.inputs):
            for i in inputs:
                self.last_read[i] = index

    def forward(self, x: np.ndarray, layers, train: bool, stop: int, on_step=None,
                outputs: dict | None = None) -> np.ndarray:
        """Steps [0, stop) over x; returns the output of step stop - 1.
        `outputs`, when given, receives every step's output by index."""
        values = {INPUT: x}
        for index in range(stop):
            inputs = [values[i] for i in self.inputs[index]]
            started = time.perf_counter() if on_step else 0.0
            values[index] = layers[index].forward(inputs if self.joins[index] else inputs[0], train)
            if on_step:
                on_step(index, "forward", time.perf_counter() - started)
            if outputs is not None:
                outputs[index] = values[index]
            for i in self.inputs[index]:
                if self.last_read[i] == index and i != stop - 1:
                    del values[i]      # read for the last time: free it now
        return values[stop - 1]

    def backward(self, dout: np.ndarray, layers, stop: int, on_step=None) -> None:
        """Steps stop - 1 down to 0, from the gradient of step stop - 1's output.
        A step no gradient reaches (nothing upstream of it is trained) is skipped."""
        grads = {stop - 1: dout}
        for index in range(stop - 1, -1, -1):
            layer = layers[index]
            if index not in grads or not (layer.params or layer.input_grad):
                continue
            started = time.perf_counter() if on_step else 0.0
            dx = layer.backward(grads.pop(index))
            if on_step:
                on_step(index, "backward", time.perf_counter() - started)
            if dx is None:
                continue
            for i, d in zip(self.inputs[index], dx if self.joins[index] else [dx]):
                if i == INPUT:
                    continue
                # a fan-out: the output's gradient is the sum over its readers
                grads[i] = d if i not in grads else grads[i] + d
