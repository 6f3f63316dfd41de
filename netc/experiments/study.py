"""The Optuna side of `netc search`: a storage URL -> a study whose trials are
numbered slots (0 .. trials-1) that workers on any machine claim one at a
time, with heartbeats so a killed worker's slot is retried, never lost."""
from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass

from netc.errors import NetcError

from . import space as spaces
from .storage import heartbeats, optuna_module, retry_callback

SETTINGS_ATTR, TRIALS_ATTR, SLOT_ATTR, RESULT_ATTR = "netc", "netc_trials", "slot", "result"
SAMPLERS, PRUNERS = ("random", "tpe"), ("none", "median", "hyperband")
# Slots queued ahead of the workers. Every read of the study fetches each
# unfinished trial again, so queueing all of a 200-trial study up front would
# make each claim read 200 trials; a window keeps that cost flat. Workers
# beyond this many at once wait for the queue to refill.
WINDOW = 32
# A finished trial that counts as its slot's result; FAIL counts only when
# netc recorded why (diverged, error), not when a dead worker's heartbeat stopped.
SCORED_FAIL = ("diverged", "error")


def make_sampler(name: str, seed: int):
    optuna = optuna_module()
    if name == "tpe":
        # constant_liar: a running trial counts as a bad result, so parallel
        # workers spread out instead of all drawing near the same best point.
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    # Random search enqueues every slot's values up front (drawn from the
    # seed and the slot alone); this sampler is never asked for one.
    return optuna.samplers.RandomSampler(seed=seed)


def make_pruner(name: str, epochs: int):
    optuna = optuna_module()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs)
    return optuna.pruners.NopPruner()


@dataclass
class Study:
    """An Optuna study plus the storage it lives in (both public objects)."""
    study: object
    storage: object
    study_id: int
    known_settings: dict | None = None
    known_planned: int | None = None

    def trials(self, states=None):
        # Through the study when there is one: Optuna's cache in front of the
        # storage learns the trial ids it will later be asked to write to.
        if self.study is not None:
            return self.study.get_trials(deepcopy=False, states=states)
        return self.storage.get_all_trials(self.study_id, deepcopy=False, states=states)

    def settings(self) -> dict | None:
        if self.known_settings is None:         # written once, when the study is made
            self.known_settings = self.storage.get_study_user_attrs(self.study_id).get(SETTINGS_ATTR)
        return self.known_settings

    def name(self) -> str:
        return self.storage.get_study_name_from_id(self.study_id)

    def planned(self, at_least: int | None = None) -> int | None:
        """The study's number of trials. It only grows, so a count already
        read that reaches `at_least` answers without asking the storage."""
        if at_least is None or self.known_planned is None or self.known_planned < at_least:
            # A system attribute, so reading it does not bring the settings
            # (the whole spec document) along.
            self.known_planned = self.storage.get_study_system_attrs(self.study_id).get(TRIALS_ATTR)
        return self.known_planned


def open_study(storage, name: str, settings: dict, trials: int, *, sampler: str, pruner: str,
               comparable, wait: float = 60.0) -> Study:
    """Create the study (and enqueue its slots), or join it: check it holds the
    same search and grow it to `trials` slots if asked for more."""
    optuna = optuna_module()
    made = _made(storage, name, settings, sampler, pruner)
    try:
        study = optuna.create_study(direction="maximize", **made)
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        study, created = optuna.load_study(**made), False
    handle = Study(study, storage, storage.get_study_id_from_name(name))
    if created:
        storage.set_study_user_attr(handle.study_id, SETTINGS_ATTR, settings)
        enqueue(handle, range(min(trials, WINDOW)))
        # Written last: workers that join see a study whose first slots are queued.
        storage.set_study_system_attr(handle.study_id, TRIALS_ATTR, trials)
        return handle
    planned = _wait_for_slots(handle, name, wait)
    if comparable(handle.settings()) != comparable(settings):
        raise NetcError(f"study '{name}' holds a different search (network, space, seed, epochs or sampler differ)",
                        hint="pass another --study name, or the same file and options as the study's first run")
    if trials > planned:
        # The new slots are queued as the queue runs low (see claim and top_up).
        storage.set_study_system_attr(handle.study_id, TRIALS_ATTR, trials)
    return handle


def join_study(storage, name: str, settings: dict, *, sampler: str, pruner: str) -> Study:
    """The study another process of this search created (a --jobs worker)."""
    study = optuna_module().load_study(**_made(storage, name, settings, sampler, pruner))
    return Study(study, storage, storage.get_study_id_from_name(name))


def find_study(storage, name: str | None) -> Study:
    """A study to look at (--status): the one named, or the storage's only one."""
    optuna = optuna_module()
    names = optuna.get_all_study_names(storage)
    if name is None and len(names) == 1:
        name = names[0]
    if name not in names:
        known = ", ".join(names) or "none"
        raise NetcError(f"no study {name!r} in this storage (studies: {known})" if name else
                        f"this storage holds several studies: {known}", hint="pass --study NAME")
    return Study(None, storage, storage.get_study_id_from_name(name))


def _made(storage, name, settings, sampler, pruner) -> dict:
    return dict(sampler=make_sampler(sampler, settings["seed"]), pruner=make_pruner(pruner, settings["epochs"]),
                storage=storage, study_name=name)


def _wait_for_slots(handle: Study, name: str, wait: float) -> int:
    deadline = time.monotonic() + wait
    while True:
        if handle.settings() is None and handle.trials():
            raise NetcError(f"study '{name}' was not made by netc search",
                            hint="pass another --study name")
        planned = handle.planned()
        if planned is not None:
            return planned
        if time.monotonic() > deadline:
            raise NetcError(f"study '{name}' exists but its trials were never queued (its first worker died?)",
                            hint="pass another --study name")
        time.sleep(0.5)


def enqueue(handle: Study, slots) -> None:
    """Queue these slots, with their values drawn from (seed, slot) for random search."""
    settings = handle.settings()
    for slot in slots:
        params = spaces.draw(settings["space"], settings["seed"], slot) if settings["sampler"] == "random" else {}
        handle.study.enqueue_trial(params, user_attrs={SLOT_ATTR: slot}, skip_if_exists=False)


def top_up(handle: Study) -> bool:
    """When nothing waits or runs: queue the next slots no trial has taken
    yet (after the study grew, or a worker died between its claim and its
    top-up). False when there are none: the study is done."""
    states = slot_states(handle)
    missing = [slot for slot in range(handle.planned()) if slot not in states]
    if missing:
        enqueue(handle, missing[:WINDOW])
    return bool(missing)


def slot_states(handle: Study, trials=None) -> dict[int, str]:
    """Each slot's state: "ok", "pruned", "diverged", "error", "running" or "waiting"
    (a slot whose trials only died, with no retry left, is "lost")."""
    state_of, rank = {}, {"lost": 0, "waiting": 1, "running": 2}
    for trial in handle.trials() if trials is None else trials:
        slot = trial.user_attrs.get(SLOT_ATTR)
        state = trial_state(trial)
        if slot is None or state is None:
            continue
        current = state_of.get(slot)
        if current is None or rank.get(current, 3) < rank.get(state, 3):
            state_of[slot] = state
    return state_of


def trial_state(trial) -> str | None:
    """A frozen trial's state in netc's words (see slot_states)."""
    TrialState = optuna_module().trial.TrialState
    if trial.state == TrialState.COMPLETE:
        return "ok"
    if trial.state == TrialState.PRUNED:
        return "pruned"
    if trial.state == TrialState.RUNNING:
        return "running"
    if trial.state == TrialState.WAITING:
        return "waiting"
    status = (trial.user_attrs.get(RESULT_ATTR) or {}).get("status")
    return status if status in SCORED_FAIL else "lost"


def claim(handle: Study):
    """Take one waiting slot for this worker: (optuna Trial, trial id), or None
    when no slot waits. Taking is atomic in the storage, so two workers never
    run the same trial; a queued copy of a slot that already has a result
    (two workers growing a study at once) is dropped."""
    from sqlalchemy.exc import DBAPIError
    optuna = optuna_module()
    TrialState = optuna.trial.TrialState
    # One read of the study serves both questions: reading it costs a query
    # per unfinished trial, and is most of what a trial costs the storage.
    trials, beating = handle.trials(), heartbeats(handle.storage)
    taken = {s for s, state in slot_states(handle, trials).items() if state not in ("waiting", "lost")}
    for frozen in (t for t in trials if t.state == TrialState.WAITING):
        trial_id = handle.storage.get_trial_id_from_study_id_trial_number(handle.study_id, frozen.number)
        if beating:
            # Beat before taking it: a trial whose worker dies just after the
            # claim then has a heartbeat to go stale (one without is never retried).
            try:
                handle.storage.record_heartbeat(trial_id)
            except DBAPIError:                       # another worker beat first: it may win the claim
                pass
        try:
            if not handle.storage.set_trial_state_values(trial_id, TrialState.RUNNING):
                continue                             # another worker took it first
        except optuna.exceptions.UpdateFinishedTrialError:
            continue                                 # ... and has finished it since we looked
        trial = optuna.trial.Trial(handle.study, trial_id)
        slot = frozen.user_attrs.get(SLOT_ATTR)
        if slot in taken:
            trial.set_user_attr(RESULT_ATTR, {"status": "duplicate"})
            handle.study.tell(trial, state=TrialState.FAIL)
            continue
        # Each slot's first trial is claimed exactly once, so queueing the
        # slot one window ahead here queues every slot once (a retried or
        # duplicate copy queues nothing).
        following = slot + WINDOW
        if "failed_trial" not in frozen.system_attrs and following < handle.planned(at_least=following + 1):
            enqueue(handle, [following])
        return trial, trial_id
    return None


def retry(handle: Study, trial_id: int) -> None:
    """Queue a copy of a trial this worker gave up (Ctrl-C), as a dead
    worker's trial is queued again by the heartbeat check."""
    frozen = handle.storage.get_trial(trial_id)
    retry_callback(max_retry=None)(handle.study, frozen)


def fail_stale(handle: Study) -> None:
    """Fail trials whose worker stopped beating; the storage's retry callback queues them again."""
    optuna_module().storages.fail_stale_trials(handle.study)


def host() -> str:
    return socket.gethostname()


def to_json(value):
    """Optuna user attributes must be JSON; NumPy floats become plain floats."""
    return json.loads(json.dumps(value, default=float))
