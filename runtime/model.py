"""`plan.build()`: a network with its optimizer and the familiar verbs
(fit, predict, evaluate, save), for use from Python."""
from __future__ import annotations

import numpy as np

from .checkpoint import load_weights, save_checkpoint
from .data import Dataset, load_dataset
from .metrics import evaluate
from .setup import TrainingSetup


def _plan_dict(plan) -> dict:
    return plan.data if hasattr(plan, "data") and isinstance(plan.data, dict) else plan


def _arrays(name, x, t, validation=None) -> Dataset:
    x, t = np.asarray(x), np.asarray(t)
    x_val, t_val = (np.asarray(a) for a in validation) if validation is not None else (None, None)
    empty_x, empty_t = x[:0], t[:0]
    return Dataset(name, x, t, x_val, t_val, empty_x, empty_t, num_classes=None,
                   location="arrays", verified=None)


class Model:
    """A trainable network built from a plan (a Plan or its dict)."""

    def __init__(self, plan, seed: int | None = None, dtype=None):
        self.plan = _plan_dict(plan)
        self.seed = self.plan["seed"] if seed is None else seed
        self.setup = TrainingSetup(self.plan, seed=self.seed, dtype=dtype or np.float32)
        self.network, self.optimizer = self.setup.network, self.setup.optimizer
        self.history: list[dict] = []

    def fit(self, x=None, t=None, *, epochs: int | None = None, batch: int | None = None,
            validation=None, data_dir=None, on_epoch=None) -> list[dict]:
        """Train on (x, t), or on the plan's data set when none are given.
        Returns one record per epoch (loss, train/val/test accuracy)."""
        if x is None:
            data = load_dataset(self.plan["data"], self.plan["input_shape"], self.seed, data_dir)
        else:
            data = _arrays("arrays", x, t, validation)
        settings = {**self.plan["train"]}
        settings.update({k: v for k, v in (("epochs", epochs), ("batch", batch)) if v is not None})
        # Every fit starts its schedule from the plan's rate, not where the last one ended.
        self.optimizer.hyper["lr"] = self.plan["optimizer"]["lr"]
        trainer = self.setup.trainer(data, settings, on_epoch=on_epoch or (lambda record: None))
        records = trainer.run()
        self.history.extend(records)
        return records

    def predict(self, x) -> np.ndarray:
        """Outputs (softmax probabilities for a classifier), inference mode."""
        x = np.asarray(x)
        if x.shape == tuple(self.plan["input_shape"]):
            return self.network.predict(x[None])[0]
        return self.network.predict(x)

    def evaluate(self, x=None, t=None, data_dir=None) -> dict:
        """{"loss", "accuracy", "count"} on (x, t), or on the plan's test set."""
        if x is None:
            data = load_dataset(self.plan["data"], self.plan["input_shape"], self.seed, data_dir)
            x, t = data.x_test, data.t_test
        return evaluate(self.network, np.asarray(x), np.asarray(t))

    def save(self, path) -> None:
        """A netc checkpoint (.npz, no pickle) of weights, state and optimizer."""
        save_checkpoint(path, self.network, self.optimizer, {"name": self.plan["name"]})

    def load_weights(self, path) -> None:
        """Weights from a netc checkpoint or a seed-style W1/b1 .npz file."""
        load_weights(path, self.network)

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.network.params
