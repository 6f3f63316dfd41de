"""One search trial, run in a worker process: a spec document plus the
trial's assignments -> a result record scored on validation data only; after
each epoch the validation accuracy goes to `report`, which may stop the trial.

The trainer is handed a Dataset whose test arrays are empty, so no trial can
look at the test set, even by accident: the seed keeps it for the very end."""
from __future__ import annotations

import dataclasses
import json
import os
import time

import netc
from netc.errors import NetcDivergedError, NetcError
from netc.overrides import apply_overrides
from netc.runtime.data import load_dataset
from netc.runtime.metrics import evaluate
from netc.runtime.trainer import Interrupted
from netc.runtime.setup import TrainingSetup

_datasets: dict = {}    # per worker process: each trial reuses the loaded data set

# Each worker uses one BLAS thread: the parallelism is in the processes.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def validation_dataset(plan, data_dir=None):
    """The plan's data set with the test arrays emptied; cached per process."""
    key = json.dumps([plan.data["data"], plan.data["input_shape"], plan.data["seed"], str(data_dir)])
    if key not in _datasets:
        data = load_dataset(plan.data["data"], plan.data["input_shape"], plan.data["seed"], data_dir)
        _datasets[key] = dataclasses.replace(data, x_test=data.x_test[:0], t_test=data.t_test[:0])
    return _datasets[key]


class _Pruned(Exception):
    """`report` said this trial is not worth finishing."""


def run_trial(document: dict, trial: int, values: dict, assignments: list[str],
              epochs: int, data_dir=None, report=None) -> dict:
    """Train one configuration for `epochs` epochs; {trial, values, status,
    val_acc, val_loss, train_loss, train_acc, val_curve, seconds, pid}.
    `report(epoch, val_acc)` returning True stops the trial as "pruned"."""
    started = time.perf_counter()
    result = {"trial": trial, "values": values, "status": "ok", "val_acc": None, "val_loss": None,
              "train_loss": None, "train_acc": None, "val_curve": [], "seconds": None, "pid": os.getpid()}
    curve = result["val_curve"]

    def after_epoch(record):
        curve.append(record["val_acc"])
        if report is not None and report(record["epoch"], record["val_acc"]):
            raise _Pruned

    try:
        plan = netc.compile(apply_overrides(document, assignments + [f"train.epochs={epochs}"]))
        data = validation_dataset(plan, data_dir)
        setup = TrainingSetup(plan.data)
        network, trainer = setup.network, setup.trainer(data, on_epoch=after_epoch)
        records = trainer.run()
        scored = evaluate(network, data.x_val, data.t_val)
        result.update(val_acc=scored["accuracy"], val_loss=scored["loss"],
                      train_loss=records[-1]["train_loss"], train_acc=records[-1]["train_acc"])
    except _Pruned:
        last = trainer.records[-1]
        result.update(status="pruned", val_acc=curve[-1], train_loss=last["train_loss"],
                      train_acc=last["train_acc"])
    except Interrupted:
        result["status"] = "interrupted"
    except NetcError as error:
        # A learning rate that blows the loss up is a result, not a crash:
        # the seed's log-scale search expects some trials to fail.
        result.update(status="diverged" if isinstance(error, NetcDivergedError) else "error",
                      message=str(error).splitlines()[0])
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result
