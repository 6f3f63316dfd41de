"""Compiled kernels (Numba, the optional extra `netc[fast]`) beside the NumPy ones.

Importing this package never imports numba: each kernel module does, and the
layers load those only for a plan step whose kernel is one of NUMBA_KERNELS
(Adam's compiled update: when the plan's kernel set is numba).

- winograd.py: the Winograd conv, tile block by tile block; f4.py and f2.py:
  the tile transforms of F(4x4, 3x3) and F(2x2, 3x3);
- pool.py: max and average pooling over windows that tile the input;
- batchnorm.py: batch norm of images, channels last; optim.py: Adam;
- spacing.py: strides clear of 4 KiB aliasing; warmup.py: a cold numba cache
  filled by two processes (the netc command's choice).
"""
from __future__ import annotations

import importlib
import importlib.util
import os

from netc.errors import NetcSpecError

# The plan's kernel names served by this package (compiler/kernels.py chooses them).
NUMBA_KERNELS = ("numba-winograd", "numba-winograd4", "numba-reshape", "numba-channels")


class MissingNumbaError(NetcSpecError):
    """A plan asks for a compiled kernel and numba is not installed."""


def compile_at_o2() -> None:
    """Have numba optimise at LLVM -O2, not its default -O3 (NUMBA_OPT=2, unless the
    environment sets it): the kernels' first compile takes a third less time and they
    run as fast (benchmarks/README.md). numba reads it once, when it loads, for the
    whole process; so, like malloc's settings (runtime/memory.py), it is the netc
    command's choice, made before anything imports numba, never a library's."""
    os.environ.setdefault("NUMBA_OPT", "2")


def available() -> bool:
    """Whether numba can be imported (checked without importing it)."""
    return importlib.util.find_spec("numba") is not None


def load(module: str, kernel: str):
    """runtime.fast.<module>, or a clear error naming the kernel when numba is missing."""
    if not available():
        raise MissingNumbaError(
            f"the plan's kernel {kernel!r} needs numba, which is not installed",
            hint="pip install 'netc[fast]', or compile the plan again with "
                 "NETC_KERNELS=numpy for the NumPy kernels")
    return importlib.import_module(f"{__name__}.{module}")
