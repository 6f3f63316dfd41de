"""Helpers the tests share: where the shared data lives, and small synthetic
data sets that let training tests run in a second."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

# The README's test command sets NETC_DATA (../shared/data, resolved from the
# repository root where pytest starts); without it, the folder beside the repository.
SHARED_DATA = Path(os.environ.get("NETC_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data").resolve()
MODELS = Path(__file__).resolve().parents[1] / "models"


def blobs(n: int, shape, classes: int, seed: int = 0):
    """Separable synthetic images: each class lights up its own band of pixels."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, classes, size=n)
    x = rng.uniform(0, 60, size=(n, *shape))
    flat = x.reshape(n, -1)
    band = flat.shape[1] // classes
    for c in range(classes):
        flat[t == c, c * band:(c + 1) * band] += 150
    return x.astype(np.uint8), t.astype(np.int64)


def tiny_spec(npz: Path, *, extra: str = "") -> str:
    """A small CNN over `tiny_npz`, with dropout so resume must restore the RNG."""
    return (f'input 1x8x8\n'
            f'conv 4x3x3 pad=1 -> relu -> pool 2 -> affine 16 -> relu -> dropout 0.2\n'
            f'  -> affine 3 -> softmax\n'
            f'data npz path="{npz}" validation=0.2\n'
            f'init he\noptimizer adam lr=0.01\ntrain epochs=6 batch=32 eval=50\nseed 7\n{extra}')


# A tiny MLP search over three common keys (the search and plot tests).
SEARCH_SPACE = {"lr": {"call": "log", "args": [1e-3, 1.0]},
                "weight_decay": {"call": "log", "args": [1e-8, 1e-4]},
                "batch": {"call": "choice", "args": [10, 30]}}


def mlp_spec(npz, *, validation=0.2, extra=""):
    """A small MLP on an .npz of 1x8x8 images (3 classes)."""
    data = f'data npz path="{npz}"' + (f" validation={validation}" if validation else "")
    return (f"network tinymlp\ninput 64\naffine 16 -> relu -> affine 3 -> softmax\n{data}\n"
            f"optimizer sgd lr=0.1\ntrain epochs=4 batch=30 eval=100\nseed 3\n{extra}")
