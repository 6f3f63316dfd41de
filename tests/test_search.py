"""`netc search` on one machine: validation-only scoring, best.net, Ctrl-C and
continuing, pruning, diverging trials, TPE, journal files and --status, on a
tiny synthetic data set (the PostgreSQL tests are in test_search_cluster.py)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import optuna
import pytest
from click.testing import CliRunner

import netc
from helpers import SEARCH_SPACE as SPACE, mlp_spec
from netc.cli import cli
from netc.errors import NetcError
from netc.experiments import search, space, worker
from netc.experiments import storage as storages
from netc.experiments import study as studies

QUIET = {"echo": lambda _: None}


def study_trials(folder, name="tinymlp"):
    return optuna.load_study(study_name=name, storage=search.default_storage(folder)).get_trials()


def test_trial_values_are_a_pure_function_of_seed_and_index():
    first = [space.draw(SPACE, 5, k) for k in range(20)]
    assert first == [space.draw(SPACE, 5, k) for k in range(20)]
    assert space.draw(SPACE, 5, 3) != space.draw(SPACE, 6, 3)
    assert len({v["lr"] for v in first}) == 20
    for values in first:
        assert 1e-3 <= values["lr"] <= 1.0 and 1e-8 <= values["weight_decay"] <= 1e-4
        assert values["batch"] in (10, 30)


def test_log_draws_spread_over_decades_and_whole_bounds_give_whole_numbers():
    lrs = [space.draw({"lr": SPACE["lr"]}, 0, k)["lr"] for k in range(300)]
    decades = np.histogram(np.log10(lrs), bins=3, range=(-3, 0))[0]
    assert decades.min() > 60             # about 100 per decade, not all in the top one
    units = {space.draw({"layers.0.units": {"call": "uniform", "args": [8, 32]}}, 0, k)["layers.0.units"]
             for k in range(50)}
    assert all(isinstance(u, int) and 8 <= u <= 32 for u in units)


@pytest.mark.parametrize("entry, message", [
    ({"call": "normal", "args": [0, 1]}, "unknown call"),
    ({"call": "log", "args": [0, 1]}, "positive"),
    ({"call": "uniform", "args": [2, 1]}, "low < high"),
    ({"call": "choice", "args": []}, "at least one"),
])
def test_bad_ranges_are_reported(entry, message):
    with pytest.raises(NetcError, match=message):
        space.check_space({"lr": entry})


def test_shorthand_lr_means_optimizer_lr():
    assert space.assignments({"lr": 0.01, "weight_decay": 1e-6}) == ["optimizer.lr=0.01", "weight_decay=1e-06"]


# --- search ---------------------------------------------------------------

def test_search_scores_on_validation_only_and_writes_the_best_net(mlp_file, tmp_path):
    out = tmp_path / "search"
    lines = []
    result = search.run_search(mlp_file, {"space": SPACE, "trials": 5, "epochs": 2}, out=out, echo=lines.append)
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["trial"] for r in records) == list(range(5)) and len(lines) == 5
    assert all("test_acc" not in r and len(r["val_curve"]) == 2 for r in records)
    assert [r["values"] for r in sorted(records, key=lambda r: r["trial"])] == \
        [space.draw(SPACE, 3, k) for k in range(5)]        # the spec's seed, trial k's own draw
    accuracies = [r["val_acc"] for r in result["results"]]
    assert accuracies == sorted(accuracies, reverse=True)
    best = result["results"][0]
    plan = netc.compile((out / "best.net").read_text())
    assert plan.data["optimizer"]["lr"] == best["values"]["lr"]
    assert plan.data["train"]["batch"] == best["values"]["batch"]
    assert plan.data["train"]["epochs"] == 4          # the spec's, not the search's 2
    trials = study_trials(out)
    assert sorted(t.value for t in trials) == sorted(accuracies)
    assert all(list(t.intermediate_values) == [1, 2] for t in trials)
    table = search.table(result["results"], SPACE)
    assert table.splitlines()[0].split() == ["rank", "trial", "val_acc", "val_loss", "train_acc",
                                             "lr", "weight_decay", "batch"]


def test_search_needs_a_validation_split(tmp_path, poisoned_npz):
    path = tmp_path / "noval.net"
    path.write_text(mlp_spec(poisoned_npz, validation=None))
    with pytest.raises(NetcError, match="validation"):
        search.run_search(path, {"space": SPACE}, out=tmp_path / "s")


def test_ctrl_c_puts_the_trial_back_and_the_next_run_continues(mlp_file, tmp_path, monkeypatch):
    ran = []
    real = worker.run_trial

    def counting(document, trial, *rest, **options):
        ran.append(trial)
        if trial == 2 and ran.count(2) == 1:
            return {"trial": 2, "status": "interrupted"}   # what Ctrl-C inside a trial gives
        return real(document, trial, *rest, **options)

    monkeypatch.setattr(worker, "run_trial", counting)
    settings = {"space": SPACE, "trials": 4, "epochs": 1}
    with pytest.raises(search.SearchInterrupted, match="after 2 of 4"):
        search.run_search(mlp_file, settings, out=tmp_path / "s", **QUIET)
    result = search.run_search(mlp_file, settings, out=tmp_path / "s", **QUIET)
    assert sorted(ran) == [0, 1, 2, 2, 3]
    assert sorted(r["trial"] for r in result["results"]) == [0, 1, 2, 3]
    states = [t.state for t in study_trials(tmp_path / "s")]
    assert states.count(optuna.trial.TrialState.COMPLETE) == 4 and states.count(optuna.trial.TrialState.FAIL) == 1
    more = search.run_search(mlp_file, settings, trials=6, out=tmp_path / "s", **QUIET)
    assert ran[-2:] == [4, 5] and len(more["results"]) == 6


def test_a_folder_or_study_of_another_search_is_refused(mlp_file, tmp_path):
    search.run_search(mlp_file, {"space": SPACE, "trials": 1}, out=tmp_path / "s", **QUIET)
    with pytest.raises(NetcError, match="different search"):
        search.run_search(mlp_file, {"space": SPACE, "trials": 1}, seed=9, out=tmp_path / "s")
    storage = search.default_storage(tmp_path / "s")
    with pytest.raises(NetcError, match="study 'tinymlp' holds a different search"):
        search.run_search(mlp_file, {"space": SPACE, "trials": 1}, seed=9, storage=storage, out=tmp_path / "t")


def test_parallel_workers_give_the_serial_results(mlp_file, tmp_path):
    settings = {"space": SPACE, "trials": 4, "epochs": 1}
    serial = search.run_search(mlp_file, settings, out=tmp_path / "a", **QUIET)
    parallel = search.run_search(mlp_file, settings, jobs=2, out=tmp_path / "b", **QUIET)
    key = lambda r: (r["trial"], r["values"], r["val_acc"], r["val_loss"])  # noqa: E731
    assert sorted(map(key, serial["results"])) == sorted(map(key, parallel["results"]))
    assert len(study_trials(tmp_path / "b")) == 4


def test_a_diverging_trial_is_recorded_and_the_study_goes_on(mlp_file, tmp_path):
    settings = {"space": {"lr": {"call": "choice", "args": [1e30, 0.1]}}, "trials": 6, "epochs": 1}
    result = search.run_search(mlp_file, settings, out=tmp_path / "s", **QUIET)
    statuses = {r["values"]["lr"]: r["status"] for r in result["results"]}
    assert statuses == {1e30: "diverged", 0.1: "ok"}
    assert len(result["results"]) == 6 and result["best_path"] is not None
    for trial in study_trials(tmp_path / "s"):
        diverged = trial.params["lr"] == 1e30
        assert trial.state == (optuna.trial.TrialState.FAIL if diverged else optuna.trial.TrialState.COMPLETE)
        assert trial.user_attrs["result"]["status"] == ("diverged" if diverged else "ok")


def test_median_pruning_stops_lagging_trials_and_records_them_as_pruned(mlp_file, tmp_path):
    # lr 1e-4 learns nothing in 4 epochs; lr 0.3 learns the blobs in one.
    settings = {"space": {"lr": {"call": "choice", "args": [1e-4, 0.3]}}, "trials": 14, "epochs": 4}
    result = search.run_search(mlp_file, settings, pruner="median", out=tmp_path / "s", **QUIET)
    pruned = [r for r in result["results"] if r["status"] == "pruned"]
    assert pruned and all(r["values"]["lr"] == 1e-4 and r["epochs"] < 4 for r in pruned)
    assert result["results"][0]["status"] == "ok"              # the best is a finished trial
    states = [t.state for t in study_trials(tmp_path / "s")]
    assert states.count(optuna.trial.TrialState.PRUNED) == len(pruned)
    assert "pruned" in search.table(result["results"], settings["space"])


def test_tpe_with_one_worker_repeats_from_its_seed(mlp_file, tmp_path):
    settings = {"space": SPACE, "trials": 12, "epochs": 1}
    runs = [search.run_search(mlp_file, settings, sampler="tpe", out=tmp_path / name, **QUIET)
            for name in ("a", "b")]
    values = [sorted(json.dumps(r["values"], sort_keys=True) for r in run["results"]) for run in runs]
    assert values[0] == values[1] and len(set(values[0])) == 12
    other = search.run_search(mlp_file, settings, sampler="tpe", seed=4, out=tmp_path / "c", **QUIET)
    assert sorted(json.dumps(r["values"], sort_keys=True) for r in other["results"]) != values[0]


def test_a_journal_file_is_a_storage_too(mlp_file, tmp_path):
    journal = str(tmp_path / "study.log")
    result = search.run_search(mlp_file, {"space": SPACE, "trials": 3, "epochs": 1}, storage=journal,
                               out=tmp_path / "s", **QUIET)
    assert len(result["results"]) == 3
    assert "3 of 3 trials done" in search.status(journal)


def test_cli_search_and_status(poisoned_npz, tmp_path):
    runner = CliRunner()
    out, mlp_file = tmp_path / "s", tmp_path / "searched.net"
    mlp_file.write_text(mlp_spec(poisoned_npz, extra="search lr=log(1e-3, 1.0) trials=20 epochs=4\n"))
    result = runner.invoke(cli, ["search", str(mlp_file), "--trials", "3", "--epochs", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "(3/3)" in result.output and "best configuration" in result.output
    status = runner.invoke(cli, ["search", "--status", "--out", str(out)])
    assert status.exit_code == 0, status.output
    assert "study 'tinymlp'" in status.output and "3 of 3 trials done (3 finished, 0 pruned" in status.output
    missing = runner.invoke(cli, ["search", "--status"])
    assert missing.exit_code == 2 and "--storage" in missing.output
    bad = runner.invoke(cli, ["search", str(mlp_file), "--storage", "nosuchdb://x", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 1 and "cannot open storage nosuchdb://x" in bad.output
    assert "Traceback" not in bad.output


def test_a_torn_last_line_is_dropped_and_written_again(mlp_file, tmp_path):
    out = tmp_path / "s"
    search.run_search(mlp_file, {"space": SPACE, "trials": 3, "epochs": 1}, out=out, **QUIET)
    lines = (out / "results.jsonl").read_text().splitlines(keepends=True)
    (out / "results.jsonl").write_text("".join(lines[:2]) + lines[2][:25])
    assert len(search.read_results(out)) == 2
    search.run_search(mlp_file, {"space": SPACE, "trials": 3, "epochs": 1}, out=out, **QUIET)
    again = (out / "results.jsonl").read_text().splitlines(keepends=True)
    assert again[:2] == lines[:2] and json.loads(again[2]) == json.loads(lines[2]) and len(again) == 3


def test_slots_are_queued_a_window_ahead_and_each_runs_once(mlp_file, tmp_path, monkeypatch):
    monkeypatch.setattr(studies, "WINDOW", 2)
    settings = {"space": SPACE, "trials": 5, "epochs": 1}
    queued = []
    real = studies.enqueue
    monkeypatch.setattr(studies, "enqueue", lambda handle, slots: (queued.append(list(slots)), real(handle, slots)))
    result = search.run_search(mlp_file, settings, out=tmp_path / "s", **QUIET)
    assert queued == [[0, 1], [2], [3], [4]]          # two up front, then one per claim
    assert sorted(r["trial"] for r in result["results"]) == list(range(5))
    grown = search.run_search(mlp_file, settings, trials=8, out=tmp_path / "s", **QUIET)
    assert queued[4:] == [[5, 6], [7]]                # grown when the queue ran dry
    trials = study_trials(tmp_path / "s")
    assert sorted(t.user_attrs["slot"] for t in trials) == list(range(8))
    assert [r["values"] for r in sorted(grown["results"], key=lambda r: r["trial"])] == \
        [space.draw(SPACE, 3, k) for k in range(8)]


CLAIMER = """
import sys
from netc.experiments import storage as storages, study as studies
storage = storages.open_storage(sys.argv[1], 10)
handle = studies.join_study(storage, "race", {"seed": 0, "epochs": 1}, sampler="random", pruner="none")
while (claimed := studies.claim(handle)) is not None:
    trial, _ = claimed
    print(trial.number, flush=True)
    handle.study.tell(trial, 0.5)
"""


def test_workers_racing_for_trials_on_sqlite_never_take_the_same_one(tmp_path):
    url = f"sqlite:///{tmp_path / 'race.db'}"
    settings = {"format": search.FORMAT, "space": SPACE, "seed": 0, "epochs": 1, "sampler": "random", "document": {}}
    studies.open_study(storages.open_storage(url, 10), "race", settings, 24, sampler="random", pruner="none",
                       comparable=json.dumps)
    claimers = [subprocess.Popen([sys.executable, "-c", CLAIMER, url], stdout=subprocess.PIPE, text=True)
                for _ in range(3)]
    taken = [int(n) for claimer in claimers for n in claimer.communicate(timeout=120)[0].split()]
    assert sorted(taken) == list(range(24))          # every slot's trial once, none twice


def test_a_worker_dying_right_after_its_claim_leaves_a_trial_that_is_retried(poisoned_npz, tmp_path):
    out, mlp_file = tmp_path / "s", tmp_path / "searched.net"
    mlp_file.write_text(mlp_spec(poisoned_npz, extra="search lr=log(1e-3, 1.0) weight_decay=log(1e-8, 1e-4) "
                                                     "batch=choice(10, 30)\n"))
    url = search.default_storage(out)
    out.mkdir()
    plan = netc.load(mlp_file)
    settings = {"format": search.FORMAT, "space": SPACE, "seed": 3, "epochs": 1, "sampler": "random",
                "document": search.base_document(plan.document)}
    handle = studies.open_study(storages.open_storage(url, 1), "tinymlp", settings, 3, sampler="random",
                                pruner="none", comparable=search._comparable)
    trial, trial_id = studies.claim(handle)     # and then nothing: as if killed before its first beat
    done = subprocess.run([sys.executable, "-m", "netc", "search", str(mlp_file), "--trials", "3", "--epochs", "1",
                           "--heartbeat", "1", "--out", str(out)], capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    trials = study_trials(out)
    complete = sorted(t.user_attrs["slot"] for t in trials if t.state == optuna.trial.TrialState.COMPLETE)
    assert complete == [0, 1, 2]
    assert [t.number for t in trials if t.state == optuna.trial.TrialState.FAIL] == [trial.number]
