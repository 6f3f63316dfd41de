"""One `netc search` worker: claim a waiting trial of the study, train it
(reporting validation accuracy each epoch, so the pruner can stop it), tell
the study how it ended; repeat until no trial is left on any machine."""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass

from netc.errors import NetcError

from . import space as spaces
from . import storage as storages
from . import study as studies
from .trial import run_trial

RESULT_KEYS = ("val_loss", "train_loss", "train_acc", "seconds", "pid", "message")
EXIT_INTERRUPTED = 130
WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class Job:
    """What every worker of one search needs; plain values, so a spawned
    process (or another machine running the same command) rebuilds the rest."""
    storage: str
    study: str
    settings: dict          # space, seed, epochs, sampler and the base document
    sampler: str
    pruner: str
    heartbeat: float
    data_dir: str | None = None


def join(job: Job) -> studies.Study:
    return studies.join_study(storages.open_storage(job.storage, job.heartbeat), job.study,
                              job.settings, sampler=job.sampler, pruner=job.pruner)


def work(job: Job, handle: studies.Study | None = None, after_trial=lambda: None) -> str:
    """Run the study's waiting trials until none is waiting or running;
    "done", or "interrupted" after Ctrl-C (its trial queued again)."""
    handle = handle or join(job)
    alive = storages.heartbeats(handle.storage)
    checked = -math.inf
    try:
        while True:
            if alive and time.monotonic() - checked >= job.heartbeat:
                studies.fail_stale(handle)       # a dead worker's trial is queued again
                checked = time.monotonic()
            claimed = studies.claim(handle)
            if claimed is not None:
                if run_claimed(handle, job, *claimed) == "interrupted":
                    return "interrupted"
                after_trial()
                continue
            left = set(studies.slot_states(handle).values())
            if "waiting" in left:
                continue                         # queued since the claim looked
            if "running" not in left:
                if studies.top_up(handle):
                    continue
                return "done"
            # Without heartbeats a running trial may belong to a dead worker
            # that nothing will ever notice: waiting for it could last forever.
            if not alive:
                return "done"
            # Another worker's trial may yet die and come back; look again
            # soon, so the last trials' results are not left waiting.
            time.sleep(min(job.heartbeat, WAIT_SECONDS))
    except KeyboardInterrupt:
        return "interrupted"


def run_claimed(handle: studies.Study, job: Job, trial, trial_id: int) -> str:
    """Train one claimed trial and record its end in the study; its status."""
    TrialState = storages.optuna_module().trial.TrialState
    settings = job.settings
    slot = trial.user_attrs[studies.SLOT_ATTR]

    def report(epoch: int, val_acc: float) -> bool:
        trial.report(val_acc, epoch)
        # After the last epoch there is nothing left to save: the trial finishes.
        return job.pruner != "none" and epoch < settings["epochs"] and trial.should_prune()

    try:
        with storages.Heartbeat(handle.storage, trial_id, job.heartbeat):
            values = spaces.suggest(trial, settings["space"])
            result = run_trial(settings["document"], slot, values, spaces.assignments(values),
                               settings["epochs"], job.data_dir, report=report)
    except BaseException:
        # Stopped between the trainer's own Ctrl-C checks: the trial goes back
        # in the queue rather than waiting for its heartbeat to go stale.
        _give_back(handle, trial, trial_id)
        raise
    if result["status"] == "interrupted":
        _give_back(handle, trial, trial_id)
        return "interrupted"
    kept = {key: result[key] for key in RESULT_KEYS if result.get(key) is not None}
    trial.set_user_attr(studies.RESULT_ATTR, studies.to_json(
        {"status": result["status"], "host": studies.host(), **kept}))
    if result["status"] == "ok":
        handle.study.tell(trial, float(result["val_acc"]))
    elif result["status"] == "pruned":
        handle.study.tell(trial, state=TrialState.PRUNED)
    else:                                        # diverged or error: a result, the study goes on
        handle.study.tell(trial, state=TrialState.FAIL)
    return result["status"]


def _give_back(handle: studies.Study, trial, trial_id: int) -> None:
    TrialState = storages.optuna_module().trial.TrialState
    trial.set_user_attr(studies.RESULT_ATTR, {"status": "interrupted", "host": studies.host()})
    handle.study.tell(trial, state=TrialState.FAIL)
    studies.retry(handle, trial_id)


def main(job: Job) -> None:
    """A spawned worker process: its exit code says how it ended."""
    try:
        status = work(job)
    except NetcError as error:
        print(f"netc search worker: error: {error}", file=sys.stderr)
        sys.exit(1)
    sys.exit(EXIT_INTERRUPTED if status == "interrupted" else 0)
