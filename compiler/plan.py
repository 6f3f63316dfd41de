"""The Plan: a compiled network, every shape known. A thin, read-only view
over the plan dict (spec/PLAN.md) that the runtime builds from."""
from __future__ import annotations

import json


class Plan:
    def __init__(self, data: dict, document: dict | None = None, source: str | None = None):
        self.data = data
        self.document = document     # the validated spec document it came from
        self.source = source         # the .net file, when there was one

    name = property(lambda self: self.data["name"])
    input_shape = property(lambda self: tuple(self.data["input_shape"]))
    output_shape = property(lambda self: tuple(self.data["output_shape"]))
    total_params = property(lambda self: self.data["total_params"])
    total_flops = property(lambda self: self.data["total_flops"])
    layers = property(lambda self: self.data["layers"])
    loss = property(lambda self: self.data["loss"])

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.data, indent=indent)

    def build(self, seed: int | None = None, dtype=None):
        """A runnable, trainable network (NumPy) for this plan."""
        from netc.runtime.model import Model
        return Model(self, seed=seed, dtype=dtype)

    def __repr__(self) -> str:
        return (f"<Plan {self.name}: {list(self.input_shape)} -> {list(self.output_shape)}, "
                f"{self.total_params:,} params, {len(self.layers)} layers>")
