"""Kernel choice from static shapes: the plan records which implementation
each step runs, so `netc check` shows it and the runtime just follows it."""
from __future__ import annotations

import functools
import importlib.util
import os

from netc.errors import NetcSpecError
from netc.spec.kernels import conv_chunk, pool_tiles, winograd_chunk, winograd_pays

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
    if op == "batchnorm" and len(step["input_shape"]) == 3:
        return "channels"
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
