"""Kernel choice from static shapes: the plan records which implementation
each step runs, so `netc check` shows it and the runtime just follows it."""
from __future__ import annotations

import functools
import importlib.util
import os

from netc.errors import NetcSpecError
from netc.spec.kernels import conv_chunk, pool_tiles, winograd_block, winograd_chunk, winograd_pays, winograd_tile

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


def resolved_set(kernels: str) -> str:
    """The set a checked kernel set runs as: auto is numba where it is installed, else numpy."""
    if kernels == "auto":
        return "numba" if numba_installed() else "numpy"
    return kernels


def choose_kernel(step: dict, kernels: str = "auto") -> str:
    """The kernel name for a step in a checked kernel set; for conv it also records step["chunk"]."""
    op, o = step["op"], step["options"]
    if kernels == "reference":
        return "reference"
    compiled = "numba-" if resolved_set(kernels) == "numba" else ""
    if op in ("maxpool", "avgpool"):
        return compiled + "reshape" if pool_tiles(step["input_shape"], o) else "im2col"
    if op == "conv":
        if winograd_pays(step):
            if not compiled:
                step["chunk"] = winograd_chunk(step)
                return "winograd"
            step["chunk"] = winograd_block(step)
            return "numba-winograd4" if winograd_tile(step) == 4 else "numba-winograd"
        step["chunk"] = conv_chunk(step)
        return "im2col"
    if op == "batchnorm" and len(step["input_shape"]) == 3:
        return compiled + "channels"
    return "reference"


# Activations a reshape max pool applies to its own (4x smaller) output instead:
# max commutes with a non-decreasing function, so relu(maxpool(x)) equals
# maxpool(relu(x)) bit for bit, and the gradient too (a window whose max is <= 0
# gets none either way). Saves the activation's full-size passes, both ways.
POOL_FUSABLE = ("relu",)


# Activations a conv applies to its own output as it writes it (the compiled
# Winograd kernels in the same pass, the NumPy ones in one pass over it), and
# whose gradient it applies before its own: saves the activation's passes and
# its output array. Only where the conv is the activation's one input and the
# activation its conv's one reader; a pool after the activation takes it first
# (on its 4x smaller output).
CONV_FUSABLE = ("relu",)


def fuse_steps(steps: list[dict]) -> None:
    """Mark the activations another step can run (after choose_kernel): into the
    reshape max pool that is its one reader, else into the conv that is its input
    and has no other reader. Only such pairs, so the fusion stays exact (a relu
    read by two steps is not fused into one of them)."""
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
    for step in steps:
        if step["op"] not in CONV_FUSABLE or step["kernel"] == "fused" or step["inputs"][0] < 0:
            continue
        conv = steps[step["inputs"][0]]
        if conv["op"] == "conv" and len(readers[conv["index"]]) == 1 and "activation" not in conv:
            step["kernel"] = "fused"
            conv["activation"] = step["op"]
