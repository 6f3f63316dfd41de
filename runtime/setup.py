"""A plan's training parts, wired once: the network, its optimizer, and a
Trainer over a data set with the plan's train settings, seed, schedule and
clipping. `netc train`, `Model.fit`, a search trial and `netc bench` all
build from here."""
from __future__ import annotations

import numpy as np

from .network import Network
from .optimizers import make_optimizer
from .trainer import Trainer


class TrainingSetup:
    """Network and optimizer of a plan dict; `trainer(data, ...)` for a run over data."""

    def __init__(self, plan: dict, seed: int | None = None, dtype=np.float32):
        self.plan = plan
        self.seed = plan["seed"] if seed is None else seed
        self.network = Network(plan, seed=self.seed, dtype=dtype)
        self.optimizer = make_optimizer(plan["optimizer"], compiled=plan.get("kernels") == "numba")

    def trainer(self, data, settings: dict | None = None, **hooks) -> Trainer:
        """A Trainer over `data` with the plan's settings (or `settings`), its
        schedule and clipping; `hooks`: on_step, on_epoch, save, records, on_best."""
        return Trainer(self.network, self.optimizer, data, settings or self.plan["train"], self.seed,
                       schedule=self.plan.get("schedule"), clip=self.plan.get("clip"), **hooks)
