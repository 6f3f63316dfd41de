"""Learning curves as plain text, for terminals and logs: named series of
numbers -> a character grid with a y axis, an epoch axis and a legend."""
from __future__ import annotations

import math

MARKS = "*o+x#@%&=~"


def text_curves(series: dict[str, list], *, title: str = "", width: int = 60, height: int = 14) -> str:
    """Each series is plotted against its index (epoch 1, 2, ...); None and
    non-finite values are left out. Where two series meet, the later mark wins."""
    points = {name: [(i, v) for i, v in enumerate(values, 1) if _finite(v)]
              for name, values in series.items()}
    every = [v for pts in points.values() for _, v in pts]
    if not every:
        return f"{title}\n(no values)" if title else "(no values)"
    low, high = min(every), max(every)
    if high == low:
        low, high = low - 0.5, high + 0.5
    last = max((i for pts in points.values() for i, _ in pts), default=1)
    grid = [[" "] * width for _ in range(height)]
    for mark, pts in zip(_marks(len(points)), points.values()):
        for i, v in pts:
            col = 0 if last == 1 else round((i - 1) * (width - 1) / (last - 1))
            row = round((high - v) * (height - 1) / (high - low))
            grid[row][col] = mark
    label_width = max(len(_num(high)), len(_num(low)))
    lines = [title] if title else []
    for r, cells in enumerate(grid):
        label = _num(high) if r == 0 else _num(low) if r == height - 1 else ""
        lines.append(f"{label:>{label_width}} |{''.join(cells).rstrip()}")
    lines.append(" " * label_width + " +" + "-" * width)
    axis = f"epoch 1{'':>{max(width - len('epoch 1') - len(str(last)), 1)}}{last}"
    lines.append(" " * (label_width + 2) + axis)
    lines.append("  ".join(f"{m} {name}" for m, name in zip(_marks(len(points)), points)))
    return "\n".join(lines)


def _marks(n: int) -> str:
    return (MARKS * (n // len(MARKS) + 1))[:n]


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _num(value: float) -> str:
    return f"{value:.4g}"
