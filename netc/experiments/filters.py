"""`netc filters`: a run folder -> its first conv layer's filters as small
grey images, as initialised (rebuilt from the run's spec and seed, which
reproduce the first draw exactly) and as trained (its checkpoint)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import netc
from netc.errors import NetcError


def first_conv_weights(run_dir) -> tuple[np.ndarray, np.ndarray, dict]:
    """(initial W, trained W, step) of the run's first conv layer, W as (F, C, KH, KW)."""
    from netc.runtime.checkpoint import load_weights
    from netc.runtime.network import Network
    from netc.training import CHECKPOINT, RunFolder
    folder = RunFolder(run_dir)
    plan = netc.compile(folder.spec())
    network = Network(plan.data)
    index = next((i for i, layer in enumerate(network.layers) if layer.op == "conv"), None)
    if index is None:
        raise NetcError(f"{run_dir}: network '{plan.name}' has no conv layer, so no filters to show")
    initial = network.layers[index].params["W"].copy()
    if not (Path(run_dir) / CHECKPOINT).exists():
        raise NetcError(f"{run_dir}: no {CHECKPOINT}; train the run first")
    load_weights(Path(run_dir) / CHECKPOINT, network)
    return initial, network.layers[index].params["W"].copy(), plan.layers[index]


def plot(run_dir, out=None, channel: int = 0, limit: int = 32, weights=None) -> Path:
    """Two blocks of filters (before, after), each filter scaled to its own
    grey range, as the seed draws them; the first `limit` filters of channel `channel`.
    `weights` is first_conv_weights(run_dir) when the caller has it already."""
    from .plots import _save, pyplot
    before, after, step = weights or first_conv_weights(run_dir)
    if not 0 <= channel < before.shape[1]:
        raise NetcError(f"channel {channel}: the first conv layer has {before.shape[1]} input channels")
    plt = pyplot()
    count = min(limit, before.shape[0])
    columns = min(count, 8)
    rows = -(-count // columns)
    fig, axes = plt.subplots(2 * rows, columns, figsize=(1.1 * columns, 2.4 * rows + 0.6), squeeze=False)
    for block, (name, W) in enumerate((("before training", before), ("after training", after))):
        for k in range(rows * columns):
            ax = axes[block * rows + k // columns][k % columns]
            ax.axis("off")
            if k < count:
                ax.imshow(W[k, channel], cmap="gray_r", interpolation="nearest")
        axes[block * rows][0].set_title(name, fontsize=9, loc="left")
    out = Path(out) if out else Path(run_dir) / "filters.png"
    fig.suptitle(f"first conv layer (line {step.get('line')}): {before.shape[0]} filters "
                 f"{before.shape[2]}x{before.shape[3]}", fontsize=9)
    return _save(fig, out)


def change(run_dir, weights=None) -> dict:
    """How far training moved the filters: mean |W| before and after, and
    the mean absolute change, for a printed summary."""
    before, after, _ = weights or first_conv_weights(run_dir)
    return {"filters": int(before.shape[0]), "mean_abs_before": float(np.abs(before).mean()),
            "mean_abs_after": float(np.abs(after).mean()),
            "mean_abs_change": float(np.abs(after - before).mean())}
