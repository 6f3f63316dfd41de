"""A plan's compiled kernels, compiled on two cores when numba's cache lacks them.

numba compiles a kernel the first time it runs, then keeps it in its on-disk
cache (cache=True). On a cold cache a network's first steps would compile its
kernels one after another on one core (benchmarks/README.md has the times). Instead,
`precompile` has a child process compile the Winograd conv's backward while this
process compiles everything else; each kernel module lists its kernels with tiny arguments
typed as the layers pass them (`warm_calls`), so both processes write the cache
entries the first steps then load. On a warm cache it returns at once.

The netc command turns this on (`enable()`); a library user's Network never
starts a process.
"""
from __future__ import annotations

import glob
import importlib
import json
import os
import subprocess
import sys

import numpy as np

# (op, plan kernel) -> the kernel module that serves it, and its warm_calls options
MODULES = {
    ("conv", "numba-winograd"): ("f2", {}),
    ("conv", "numba-winograd4"): ("f4", {}),
    ("maxpool", "numba-reshape"): ("pool", {"op": "maxpool"}),
    ("avgpool", "numba-reshape"): ("pool", {"op": "avgpool"}),
    ("batchnorm", "numba-channels"): ("batchnorm", {}),
}

_enabled = False


def enable() -> None:
    """Let precompile start its child process (the netc command's choice)."""
    global _enabled
    _enabled = True


def jobs(plan: dict) -> list[tuple[str, dict]]:
    """The (module, options) pairs whose kernels a plan's training runs, each once."""
    found = []
    for step in plan["layers"]:
        job = MODULES.get((step["op"], step.get("kernel")))
        if job and job not in found:
            found.append(job)
    if plan.get("kernels") == "numba" and (plan.get("optimizer") or {}).get("type") == "adam":
        found.append(("optim", {}))
    return found


def _calls(job, dtype) -> tuple[list, list]:
    module, options = job
    return importlib.import_module(f"{__package__}.{module}").warm_calls(np.dtype(dtype), **options)


def _cached(kernel) -> bool:
    """Whether numba's cache has an index for this kernel (of any signature)."""
    function = kernel.py_func
    name = f"{function.__module__.rsplit('.', 1)[-1]}.{function.__qualname__}-*.nbi"
    return bool(glob.glob(os.path.join(kernel.stats.cache_path, name)))


# The child compiles the Winograd backward: about half of a plan's compile time
# on its own; this process compiles the rest (forwards, pooling, batch norm, Adam).
CHILD_MODULES = ("f4", "f2")


def share(job, dtype: str, child: bool) -> list:
    """The (kernel, args) calls of a job that one of the two processes makes."""
    forwards, backwards = _calls(job, dtype)
    if job[0] in CHILD_MODULES:
        return backwards if child else forwards
    return [] if child else forwards + backwards


def run(jobs_: list, dtype: str, child: bool) -> None:
    """Compile (or load) the child's share of every job's kernels, or this process's."""
    for job in jobs_:
        for kernel, args in share(job, dtype, child):
            kernel(*args)


def precompile(plan: dict, dtype) -> None:
    """Compile a plan's kernels for dtype on two processes if any is missing from the cache."""
    work = jobs(plan)
    if not _enabled or not work:
        return
    dtype = np.dtype(dtype).name
    if all(_cached(kernel) for job in work for part in _calls(job, dtype) for kernel, _ in part):
        return
    child = subprocess.Popen([sys.executable, "-m", __name__, json.dumps(work), dtype],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run(work, dtype, child=False)
    finally:
        child.wait()   # its failure costs only time: this process compiles what is missing


if __name__ == "__main__":
    run([tuple(job) for job in json.loads(sys.argv[1])], sys.argv[2], child=True)
