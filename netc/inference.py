"""One-off uses of a network: run given values, predict image files, check
gradients. The library side of `netc run`, `predict` and `gradcheck`."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from netc.errors import NetcError, NetcRuntimeError
from netc.images import read_images
from netc.runtime.checkpoint import load_weights
from netc.runtime.network import Network
from netc.training import require_memory, require_trainable, resolve_plan, weights_path

PREDICT_BATCH = 1000        # images per forward pass (bounds the im2col memory)


def _network(plan, weights=None, dtype=np.float32, batch: int = 1) -> Network:
    """The plan's network with its weights, once its memory is known to fit."""
    require_memory(plan, batch, itemsize=np.dtype(dtype).itemsize)
    network = Network(plan.data, dtype=dtype)
    if weights:
        load_weights(weights_path(weights), network)
    return network


def run_values(source, samples: list[list[float]], weights=None, kernels=None) -> list[list[float]]:
    """Forward pass of each sample (a flat list of numbers) in float64; the
    samples are checked before the network is built."""
    plan = resolve_plan(source, kernels=kernels)
    size = int(np.prod(plan.input_shape))
    for values in samples:
        if len(values) != size:
            raise NetcRuntimeError(f"--input has {len(values)} values, but the network takes {size} "
                                   f"(input {'x'.join(map(str, plan.input_shape))})")
        if not all(math.isfinite(v) for v in values):
            raise NetcRuntimeError("--input holds a NaN or infinite value", hint="give finite numbers")
    network = _network(plan, weights, dtype=np.float64, batch=len(samples))
    x = np.array(samples, dtype=np.float64).reshape(len(samples), *plan.input_shape)
    return network.forward(x).reshape(len(samples), -1).tolist()


def predict_files(source, weights, files) -> list[dict]:
    """One result per image: {file, class, probabilities}, or {file, error}
    for a file that cannot be read (the others are still predicted). A batch
    .npy of K images gives K results, named FILE[0], FILE[1], ..."""
    plan = resolve_plan(source)
    images, results = [], []
    for f in files:
        try:
            batch = read_images(Path(f), plan.input_shape)
        except NetcError as error:
            results.append({"file": str(f), "error": str(error)})
            continue
        names = [str(f)] if len(batch) == 1 else [f"{f}[{i}]" for i in range(len(batch))]
        for name, image in zip(names, batch):
            results.append({"file": name})
            images.append((len(results) - 1, image))
    if images:
        network = _network(plan, weights, batch=min(len(images), PREDICT_BATCH))
        y = network.predict(np.stack([image for _, image in images]), batch_size=PREDICT_BATCH)
        for (at, _), row in zip(images, y):
            results[at].update({"class": int(row.argmax()), "probabilities": [float(p) for p in row]})
    return results


def check_gradients(source, batch: int = 3, seed: int = 0, kernels=None) -> dict[str, float]:
    """Worst relative error per parameter on a random batch (float64)."""
    from netc.runtime.gradcheck import gradient_check
    plan = resolve_plan(source, kernels=kernels)
    if plan.loss is None or not plan.data["trainable"]:
        require_trainable(plan)
    require_memory(plan, batch, training=True, itemsize=8)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.05, 0.95, size=(batch, *plan.input_shape))
    classes = int(np.prod(plan.output_shape))
    if plan.loss == "cross_entropy":
        t = rng.integers(0, classes, size=batch)
    else:
        t = rng.normal(size=(batch, *plan.output_shape))
    return gradient_check(plan.data, x, t, seed=seed)
