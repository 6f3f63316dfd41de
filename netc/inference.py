"""One-off uses of a network: run given values, predict image files, check
gradients. The library side of `netc run`, `predict` and `gradcheck`."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from netc.errors import NetcDataError, NetcRuntimeError
from netc.runtime.checkpoint import load_weights
from netc.runtime.network import Network
from netc.training import require_trainable, resolve_plan, weights_path


def _network(source, weights=None, dtype=np.float32, kernels="auto") -> tuple:
    plan = resolve_plan(source, kernels=kernels)
    network = Network(plan.data, dtype=dtype)
    if weights:
        load_weights(weights_path(weights), network)
    return plan, network


def run_values(source, samples: list[list[float]], weights=None, kernels="auto") -> list[list[float]]:
    """Forward pass of each sample (a flat list of numbers) in float64."""
    plan, network = _network(source, weights, dtype=np.float64, kernels=kernels)
    size = int(np.prod(plan.input_shape))
    for values in samples:
        if len(values) != size:
            raise NetcRuntimeError(f"--input has {len(values)} values, but the network takes {size} "
                                   f"(input {'x'.join(map(str, plan.input_shape))})")
    x = np.array(samples, dtype=np.float64).reshape(len(samples), *plan.input_shape)
    return network.forward(x).reshape(len(samples), -1).tolist()


def _read_image(path: Path, shape) -> np.ndarray:
    if path.suffix == ".npy":
        array = np.load(path, allow_pickle=False)
    else:
        array = _read_picture(path)
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255
    if array.size != int(np.prod(shape)):
        raise NetcDataError(f"{path}: {array.size} values, but the network's input "
                            f"{'x'.join(map(str, shape))} takes {int(np.prod(shape))}")
    return array.astype(np.float32).reshape(shape)


def _read_picture(path: Path) -> np.ndarray:
    """A greyscale picture: binary PGM natively, PNG through matplotlib if installed."""
    data = path.read_bytes()
    if data[:2] == b"P5":
        parts = data.split(maxsplit=4)
        width, height, maxval = int(parts[1]), int(parts[2]), int(parts[3])
        if maxval > 255:
            raise NetcDataError(f"{path}: 16-bit PGM is not supported")
        return np.frombuffer(parts[4][:width * height], np.uint8).reshape(height, width)
    try:
        import matplotlib.image as mpimg
    except ImportError:
        raise NetcDataError(f"{path}: reading {path.suffix} pictures needs matplotlib",
                            hint="pip install 'netc[plot]', or pass .npy arrays or binary PGM files") from None
    picture = mpimg.imread(path)
    if picture.ndim == 3:
        picture = picture[..., :3].mean(axis=2)
    return picture.astype(np.float32)


def predict_files(source, weights, files) -> list[dict]:
    plan, network = _network(source, weights)
    x = np.stack([_read_image(Path(f), plan.input_shape) for f in files])
    y = network.predict(x)
    return [{"file": str(f), "class": int(row.argmax()), "probabilities": [float(p) for p in row]}
            for f, row in zip(files, y)]


def check_gradients(source, batch: int = 3, seed: int = 0, kernels="auto") -> dict[str, float]:
    """Worst relative error per parameter on a random batch (float64)."""
    from netc.runtime.gradcheck import gradient_check
    plan = resolve_plan(source, kernels=kernels)
    if plan.loss is None or not plan.data["trainable"]:
        require_trainable(plan)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.05, 0.95, size=(batch, *plan.input_shape))
    classes = int(np.prod(plan.output_shape))
    if plan.loss == "cross_entropy":
        t = rng.integers(0, classes, size=batch)
    else:
        t = rng.normal(size=(batch, *plan.output_shape))
    return gradient_check(plan.data, x, t, seed=seed)
