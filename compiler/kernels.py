"""Kernel choice from static shapes: the plan records which implementation
each step runs, so `netc check` shows it and the runtime just follows it."""
from __future__ import annotations

import functools
import importlib.util
import os

from netc.errors import NetcSpecError

# A conv's im2col columns are built per chunk of output rows no larger than
# this (the plan states it in images' worth of columns), so each chunk is
# multiplied while still in cache (and a large batch never needs a batch-sized
# column matrix). 4 MiB measured best for deepconv here.
CHUNK_BYTES = 4 << 20
# Winograd chunks are sized by their transformed input tiles, 16 floats per
# 2x2 output tile and channel; 2 MiB measured best for deepconv's convs.
WINOGRAD_CHUNK_BYTES = 2 << 20
# Winograd's transforms cost O(C + F) adds per tile and save O(C * F)
# multiplies: below this many channels in or out, im2col is faster (measured:
# 1 -> 16 channels ran 12x slower, 16 -> 16 1.2x faster).
WINOGRAD_MIN_CHANNELS = 8


def conv_chunk(step: dict, itemsize: int = 4) -> int:
    """Images per im2col chunk of a conv step: the most whose float32 columns fit CHUNK_BYTES."""
    C = step["input_shape"][0]
    _, OH, OW = step["output_shape"]
    KH, KW = step["options"]["kernel"]
    return max(1, CHUNK_BYTES // (C * KH * KW * OH * OW * itemsize))


def winograd_chunk(step: dict, itemsize: int = 4) -> int:
    """Images per Winograd chunk: the most whose input tiles fit WINOGRAD_CHUNK_BYTES."""
    C = max(step["input_shape"][0], step["output_shape"][0])  # the input gradient swaps them
    _, OH, OW = step["output_shape"]
    tiles = -(-OH // 2) * -(-OW // 2)
    return max(1, WINOGRAD_CHUNK_BYTES // (16 * tiles * C * itemsize))


def winograd_fits(options: dict) -> bool:
    """Whether Winograd F(2x2, 3x3) applies to a conv: 3x3, stride 1 and pad <= 2
    (its input gradient is a conv padded 2 - pad, which needs a pad of its own)."""
    return (tuple(options["kernel"]) == (3, 3) and tuple(options["stride"]) == (1, 1)
            and all(0 <= p <= 2 for p in options["pad"]))


def winograd_pays(step: dict) -> bool:
    """A conv Winograd fits, with enough channels on both sides."""
    return (winograd_fits(step["options"])
            and min(step["input_shape"][0], step["options"]["filters"]) >= WINOGRAD_MIN_CHANNELS)


def pool_tiles(input_shape, options: dict) -> bool:
    """Whether a pool's windows tile its input exactly: stride == window, no
    padding, and the window divides H and W. Such a pool is a reshape and a reduction."""
    _, H, W = input_shape
    KH, KW = options["window"]
    return (list(options["stride"]) == [KH, KW] and list(options["pad"]) == [0, 0]
            and H % KH == 0 and W % KW == 0)


# The kernel sets `--kernels` (or NETC_KERNELS) names: "auto", the default,
# takes the compiled kernels (Numba, the extra netc[fast]) when numba is
# installed and the NumPy ones otherwise; "numpy" and "numba" ask for one of
# the two; "reference" runs every step on its plain, book-level kernel. The
# compiler only asks whether numba is there; it never imports it.
KERNEL_SETS = ("auto", "numpy", "numba", "reference")


@functools.lru_cache(maxsize=None)
def numba_installed() -> bool:
    """Whether numba can be imported (asked of the import system, not imported)."""
    return importlib.util.find_spec("numba") is not None


def kernel_set(kernels: str | None = None) -> str:
    """The kernel set to compile with: `kernels`, else NETC_KERNELS, else auto; checked."""
    choice = (kernels or os.environ.get("NETC_KERNELS", "") or "auto").strip().lower()
    if choice not in KERNEL_SETS:
        raise NetcSpecError(f"kernel set {choice!r} is unknown; known: {', '.join(KERNEL_SETS)}",
                            hint="set --kernels or NETC_KERNELS to one of them")
    if choice == "numba" and not numba_installed():
        raise NetcSpecError("the numba kernels were asked for, but numba is not installed",
                            hint="pip install 'netc[fast]', or use --kernels auto")
    return choice


def choose_kernel(step: dict, kernels: str = "auto") -> str:
    """The kernel name for a step in a checked kernel set; for conv it also records step["chunk"]."""
    op, o = step["op"], step["options"]
    if kernels == "reference":
        return "reference"
    compiled = "numba-" if kernels == "numba" or (kernels == "auto" and numba_installed()) else ""
    if op in ("maxpool", "avgpool"):
        return compiled + "reshape" if pool_tiles(step["input_shape"], o) else "im2col"
    if op == "conv":
        if winograd_pays(step):
            step["chunk"] = winograd_chunk(step)
            return compiled + "winograd"
        step["chunk"] = conv_chunk(step)
        return "im2col"
    return "reference"


# Activations a reshape max pool applies to its own (4x smaller) output instead:
# max commutes with a non-decreasing function, so relu(maxpool(x)) equals
# maxpool(relu(x)) bit for bit, and the gradient too (a window whose max is <= 0
# gets none either way). Saves the activation's full-size passes, both ways.
POOL_FUSABLE = ("relu",)


def fuse_steps(steps: list[dict]) -> None:
    """Mark activation -> maxpool pairs whose activation the pool can run (after
    choose_kernel): only where the pool is the activation's one reader, so the
    fusion stays exact (a relu read by two steps is not fused into one of them)."""
    readers: dict[int, list[dict]] = {}
    for step in steps:
        for i in step["inputs"]:
            readers.setdefault(i, []).append(step)
    for step in steps:
        pools = readers.get(step["index"], [])
        if step["op"] in POOL_FUSABLE and len(pools) == 1:
            pool = pools[0]
            if pool["op"] == "maxpool" and pool["kernel"].endswith("reshape") and pool["inputs"] == [step["index"]]:
                step["kernel"] = "fused"
                pool["activation"] = step["op"]
