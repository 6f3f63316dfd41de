"""Helpers the ONNX tests share: networks with weights worth checking, and
ONNX Runtime as the independent second opinion."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime

import netc
from helpers import MODELS, SHARED_DATA
from netc.runtime.checkpoint import load_weights
from netc.runtime.network import Network

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "onnx"
BOOK_WEIGHTS = {"simpleconv": "simpleconv.npz", "deepconv": "deepconv.npz"}
BOOK_PARAMS = Path(os.environ.get("NETC_DATA") or SHARED_DATA).resolve() / "book-params"
MODEL_FILES = sorted(MODELS.glob("*.net"))
TOLERANCE = dict(rtol=1e-5, atol=1e-5)


def network_for(plan) -> Network:
    """The book's trained weights where there are some; else the plan's seeded
    initialisation, with batch norm and prelu arrays drawn from the same seed
    (their initial values, ones and zeros, would make the check trivial)."""
    network = Network(plan.data)
    if plan.name in BOOK_WEIGHTS:
        load_weights(BOOK_PARAMS / BOOK_WEIGHTS[plan.name], network)
        return network
    rng = np.random.default_rng(plan.data["seed"])
    for name, array in {**network.params, **network.state}.items():
        if ".batchnorm." in name or ".prelu." in name:
            array[...] = rng.uniform(0.5, 1.5, array.shape)
            if name.endswith(("beta", "running_mean")):
                array -= 1
    return network


def sample_inputs(shape, count: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, *shape)).astype(np.float32)


def run_onnx(model, x: np.ndarray) -> np.ndarray:
    """ONNX Runtime's output for a model (path or ModelProto) on x."""
    source = model if isinstance(model, (str, Path)) else model.SerializeToString()
    session = onnxruntime.InferenceSession(str(source) if isinstance(source, Path) else source,
                                           providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


TRAINING = ("data", "init", "optimizer", "train", "weight_decay", "seed", "search")


def network_only(plan) -> netc.Plan:
    """The plan without what ONNX does not carry: training directives, and
    initialisers or literal weights on layers (the weights travel as arrays)."""
    document = {key: (None if key in TRAINING else value) for key, value in plan.document.items()}
    document["layers"] = [{k: v for k, v in layer.items() if k not in ("init", "weights", "bias")}
                          for layer in plan.document["layers"]]
    return netc.compile(document)


def steps_without_positions(plan) -> list[dict]:
    return [{k: v for k, v in step.items() if k not in ("line", "column")} for step in plan.layers]
