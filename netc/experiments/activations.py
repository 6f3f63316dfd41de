"""`netc activations`: a spec (initial or trained weights) and a batch ->
every hidden activation layer's outputs, as numbers and as the seed's
chapter 6 histograms (one row per variant, one panel per layer)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import netc
from netc.runtime.data import Dataset
from netc.spec.ops import OPS

from . import variants as varying

# The ops the op table marks as activations.
ACTIVATION_OPS = tuple(word for word, op in OPS.items() if op.kind == "activation")
NATURAL_RANGE = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "step": (0.0, 1.0)}


def input_batch(plan, samples: int, data_dir=None) -> np.ndarray:
    """The first `samples` training inputs of the plan's data set, or, with
    no data directive, standard normal inputs (the seed's own experiment)."""
    if plan.data["data"] is not None:
        from netc.training import load_data
        data = load_data(plan, data_dir)
        return Dataset.batch(data.x_train, slice(0, samples))
    rng = np.random.default_rng([plan.data["seed"] or 0, 0xAC7])
    return rng.standard_normal((samples, *plan.input_shape)).astype(np.float32)


def without_fusion(plan: dict) -> dict:
    """A copy of a plan whose fused activations run on their own, so their own
    outputs can be looked at (a fused relu leaves its work to the max pool after it)."""
    steps = []
    for step in plan["layers"]:
        step = {k: v for k, v in step.items() if k != "activation"}
        if step["kernel"] == "fused":
            step["kernel"] = "reference"
        steps.append(step)
    return {**plan, "layers": steps}


def hidden_activations(network, x: np.ndarray) -> list[tuple[str, str, np.ndarray]]:
    """(label, op, outputs) of each activation layer, inference mode; the
    output layer (softmax / identity) is not hidden and is left out."""
    outputs: dict[int, np.ndarray] = {}
    network.graph.forward(network.prepare(x), network.layers, False, len(network.layers), outputs=outputs)
    found = []
    for index, layer in enumerate(network.layers):
        if layer.op in ACTIVATION_OPS:
            found.append((f"{len(found) + 1}: {layer.op}", layer.op, outputs[index]))
    return found


def collect(file, varies=(), sets=(), weights=None, samples=1000, data_dir=None) -> list[dict]:
    """[{label, layers: [(label, op, array)]}] for each --vary combination."""
    from netc.runtime.network import Network
    from netc.training import require_memory
    base = netc.load(file)
    rows = []
    for label, assignments in varying.expand(list(varies)):
        plan = netc.compile(varying.apply(base.document, sets, assignments)) if (sets or assignments) else base
        require_memory(plan, samples)
        network = Network(without_fusion(plan.data))
        if weights:
            from netc.runtime.checkpoint import load_weights
            from netc.training import weights_path
            load_weights(weights_path(weights), network)
        x = input_batch(plan, samples, data_dir)
        rows.append({"label": label or plan.name, "layers": hidden_activations(network, x)})
    return rows


def summary(rows: list[dict]) -> str:
    """Per layer: mean, std and the share of saturated (sigmoid/tanh near its
    bounds) or silent (exactly 0) units, the two ways a layer stops learning."""
    lines = []
    for row in rows:
        lines.append(row["label"])
        for label, op, a in row["layers"]:
            low, high = NATURAL_RANGE.get(op, (0.0, None))
            if op in ("sigmoid", "tanh"):
                span = high - low
                stuck = np.mean((a < low + 0.01 * span) | (a > high - 0.01 * span))
                what = "saturated"
            else:
                stuck, what = np.mean(a == 0), "zero"
            lines.append(f"  layer {label:<14} mean {a.mean():7.4f}  std {a.std():7.4f}  {what} {stuck:6.1%}")
    return "\n".join(lines)


def plot(rows: list[dict], out, bins: int = 30) -> Path:
    from .plots import _save, pyplot
    plt = pyplot()
    columns = max(len(r["layers"]) for r in rows)
    # Each panel its own count axis: a small layer's histogram must not look empty.
    fig, axes = plt.subplots(len(rows), columns, figsize=(2.4 * columns, 2.2 * len(rows)), squeeze=False)
    for r, row in enumerate(rows):
        span = _row_range(row["layers"])
        for c, (label, op, a) in enumerate(row["layers"]):
            ax = axes[r][c]
            values, title = a.ravel(), f"layer {label}"
            if op not in NATURAL_RANGE:
                # A ReLU's zeros would be one bar towering over the rest:
                # count them in the title and draw the live values.
                title += f"\n{np.mean(values == 0):.0%} zero"
                values = values[values != 0]
            ax.hist(values, bins=bins, range=span)
            ax.set_title(title, fontsize=8)
            ax.tick_params(labelsize=7)
            ax.set_xlabel("output value", fontsize=7)
        axes[r][0].set_ylabel(f"{row['label']}\nunits", fontsize=9)
        for c in range(len(row["layers"]), columns):
            axes[r][c].axis("off")
    return _save(fig, out)


def _row_range(layers) -> tuple[float, float]:
    """One x range per row, so a variant's layers compare by eye."""
    ops = {op for _, op, _ in layers}
    if len(ops) == 1 and next(iter(ops)) in NATURAL_RANGE:
        return NATURAL_RANGE[next(iter(ops))]
    low = float(min(a.min() for _, _, a in layers))
    high = float(max(a.max() for _, _, a in layers))
    return (low, high) if high > low else (low, low + 1.0)
