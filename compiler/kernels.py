"""Kernel choice from static shapes: the plan records which implementation
each step runs, so `netc check` shows it and the runtime just follows it."""
from __future__ import annotations


def choose_kernel(step: dict) -> str:
    op, o = step["op"], step["options"]
    if op in ("maxpool", "avgpool"):
        _, H, W = step["input_shape"]
        tiles = (o["stride"] == o["window"] and o["pad"] == [0, 0]
                 and H % o["window"][0] == 0 and W % o["window"][1] == 0)
        # Non-overlapping windows that tile the input are a reshape and a reduction.
        return "reshape" if tiles else "im2col"
    if op == "conv":
        return "im2col"
    return "direct"
