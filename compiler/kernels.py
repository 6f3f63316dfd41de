"""Kernel choice from static shapes: the plan records which implementation
each step runs, so `netc check` shows it and the runtime just follows it."""
from __future__ import annotations

# A conv's im2col columns are built per chunk of images no larger than this,
# so each chunk is multiplied while still in cache (and a large batch never
# needs a batch-sized column matrix). 4 MiB measured best for deepconv here.
CHUNK_BYTES = 4 << 20


def conv_chunk(step: dict, itemsize: int = 4) -> int:
    """Images per im2col chunk of a conv step: the most whose float32 columns fit CHUNK_BYTES."""
    C = step["input_shape"][0]
    _, OH, OW = step["output_shape"]
    KH, KW = step["options"]["kernel"]
    return max(1, CHUNK_BYTES // (C * KH * KW * OH * OW * itemsize))


def choose_kernel(step: dict) -> str:
    """The kernel name for a step; for conv it also records step["chunk"]."""
    op, o = step["op"], step["options"]
    if op in ("maxpool", "avgpool"):
        _, H, W = step["input_shape"]
        tiles = (o["stride"] == o["window"] and o["pad"] == [0, 0]
                 and H % o["window"][0] == 0 and W % o["window"][1] == 0)
        # Non-overlapping windows that tile the input are a reshape and a reduction.
        return "reshape" if tiles else "im2col"
    if op == "conv":
        step["chunk"] = conv_chunk(step)
        return "im2col"
    return "direct"
