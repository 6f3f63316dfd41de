"""Memory a network will need, from its plan alone, checked against what the
machine has before anything is allocated: a network needing a terabyte gets
a clear error at once instead of a MemoryError (or the OOM killer) later.

The estimate counts parameters and their gradients, optimizer slots,
batchnorm state, every layer's output for the batch (kept for backward when
training, with its gradient) and each conv's im2col columns. It errs low, so
a network it refuses really does not fit. NETC_MEMORY_LIMIT sets the ceiling
instead of the available memory ("64G", "512M", a number of bytes, or "off").
"""
from __future__ import annotations

import math
import os

from netc.errors import NetcRuntimeError

ENV = "NETC_MEMORY_LIMIT"
UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class NetcMemoryError(NetcRuntimeError):
    """The network would not fit in memory."""


def layer_bytes(step: dict, batch: int, training: bool, slots: int, itemsize: int) -> int:
    """What one plan step needs for a batch of `batch` images, in bytes."""
    params = sum(math.prod(shape) for shape in step.get("param_shapes", {}).values())
    state = sum(math.prod(shape) for shape in step.get("state_shapes", {}).values())
    output = batch * math.prod(step["output_shape"])
    values = params + state + output
    if training:
        values += params * (1 + slots) + output   # gradients, optimizer slots, the output's gradient
    if step["op"] == "conv":
        C, (KH, KW) = step["input_shape"][0], step["options"]["kernel"]
        OH, OW = step["output_shape"][1:]
        values += min(batch, int(step.get("chunk") or batch)) * OH * OW * C * KH * KW
    return values * itemsize


def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo, else the physical memory; None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def limit_bytes() -> int | None:
    """The ceiling: NETC_MEMORY_LIMIT if set ("off" for none), else the available memory."""
    text = os.environ.get(ENV, "").strip().upper().removesuffix("B")
    if not text:
        return available_bytes()
    if text == "OFF":
        return None
    number, unit = (text[:-1], text[-1]) if text[-1] in UNITS else (text, "")
    try:
        value = float(number) * UNITS[unit]
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise NetcRuntimeError(f"{ENV}={os.environ[ENV]!r} is not a size",
                               hint=f"e.g. {ENV}=16G, {ENV}=512M or {ENV}=off")
    return int(value)


def human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PB"


def check_memory(plan, batch: int, training: bool = False, itemsize: int = 4) -> int:
    """Raise NetcMemoryError when the plan needs more than the ceiling for
    `batch` images; returns the estimate in bytes. `plan` is a Plan or its dict."""
    plan = getattr(plan, "data", plan)
    slots = 0
    if training and plan.get("optimizer"):
        from .optimizers import OPTIMIZERS
        kind = OPTIMIZERS.get(plan["optimizer"].get("type"))
        slots = len(kind.slots) if kind else 0
    sizes = [layer_bytes(step, batch, training, slots, itemsize) for step in plan["layers"]]
    need = sum(sizes) + batch * math.prod(plan["input_shape"]) * itemsize
    limit = limit_bytes()
    if limit is None or need <= limit:
        return need
    biggest = max(range(len(sizes)), key=sizes.__getitem__)
    step = plan["layers"][biggest]
    line = f" (line {step['line']})" if step.get("line") else ""
    what = "train" if training else "run"
    source = f"{ENV}={os.environ[ENV]}" if os.environ.get(ENV) else "available on this machine"
    raise NetcMemoryError(
        f"network '{plan.get('name', 'network')}' needs about {human(need)} of memory to {what} a batch of "
        f"{batch:,}, but {human(limit)} is {source}; the largest part is layer {biggest} "
        f"'{step['op']}'{line}: {human(sizes[biggest])}",
        line=step.get("line"), column=step.get("column"),
        hint=f"make that layer smaller or the batch smaller; to allow more anyway (with swap, say), "
             f"set {ENV}=SIZE, e.g. {ENV}={human_setting(need)}")


def human_setting(n: int) -> str:
    return f"{math.ceil(n / UNITS['G'])}G"
