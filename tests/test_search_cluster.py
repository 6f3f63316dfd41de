"""`netc search` workers sharing one study on a real PostgreSQL server: two
processes at once split the trials exactly; a worker killed with SIGKILL
mid-trial leaves its trial to the next run, lost by none and run twice by none.
Where PostgreSQL cannot be started these tests fail, saying why."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import optuna
import pytest
from click.testing import CliRunner

from helpers import blobs
from netc.cli import cli
from netc.experiments import space
from postgres import PostgresUnavailable, postgres_server

TRIALS, SEED = 10, 3
SPACE_LINE = "search lr=log(1e-3, 1.0) weight_decay=log(1e-8, 1e-4) batch=choice(10, 20)"
SPACE = {"lr": {"call": "log", "args": [1e-3, 1.0]}, "weight_decay": {"call": "log", "args": [1e-8, 1e-4]},
         "batch": {"call": "choice", "args": [10, 20]}}


@pytest.fixture(scope="module")
def postgres():
    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailable as why:
        pytest.fail(f"PostgreSQL could not be started for the search tests: {why}")


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    """A network whose trials take a tenth of a second or less: stopped_when
    catches a worker inside one all the same."""
    folder = tmp_path_factory.mktemp("cluster")
    x, t = blobs(700, (1, 8, 8), 3)
    npz = folder / "blobs.npz"
    np.savez(npz, x_train=x[:600], t_train=t[:600], x_test=x[600:], t_test=np.full(100, 99, np.int64))
    path = folder / "blobs.net"
    path.write_text(f'network blobs\ninput 64\naffine 64 -> relu -> affine 64 -> relu -> affine 3 -> softmax\n'
                    f'data npz path="{npz}" validation=0.2\noptimizer sgd lr=0.1\n'
                    f'train epochs=2 batch=10 eval=100\nseed {SEED}\n{SPACE_LINE} trials={TRIALS} epochs=8\n')
    return path


def netc_search(spec, url, study, out, *more):
    command = [sys.executable, "-m", "netc", "search", str(spec), "--storage", url, "--study", study,
               "--out", str(out), *more]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})


def finished(process, timeout=120) -> str:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output
    return output


def polls(process, timeout=60, pause=0.05):
    """Yield again and again, `pause` seconds apart; after a yield the caller
    did not return from, fail with the process's output if it has ended, or
    once `timeout` has passed."""
    deadline = time.monotonic() + timeout
    while True:
        yield
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(pause)


def wait_for(condition, process):
    for _ in polls(process):
        if condition():
            return


def stopped_when(condition, process):
    """Stop `process` (SIGSTOP) at a moment `condition()` holds, and return what
    the condition returned. It is read while the process is stopped, so what it
    saw is still so, and the process runs only 20 ms between two reads: a trial
    much shorter than one read of the database is caught all the same."""
    for _ in polls(process, pause=0.02):
        process.send_signal(signal.SIGSTOP)
        seen = condition()
        if seen:
            return seen
        process.send_signal(signal.SIGCONT)


def trials_of(url, study):
    if study not in optuna.get_all_study_names(url):
        return []
    return optuna.load_study(study_name=study, storage=url).get_trials(deepcopy=False)


def running(trials) -> list:
    return [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]


def configurations(trials) -> list[tuple]:
    return sorted(tuple(sorted(t.params.items())) for t in trials)


def drawn(k: int) -> tuple:
    """Trial k's values as random search draws them: from the seed and k alone."""
    return tuple(sorted(space.draw(SPACE, SEED, k).items()))


def test_two_workers_share_one_study_exactly(postgres, spec, tmp_path):
    # Both at once, for sure: the first worker is held (SIGSTOP) inside a
    # trial until the second has finished one of its own.
    first = netc_search(spec, postgres, "shared", tmp_path / "worker0")
    stopped_when(lambda: running(trials_of(postgres, "shared")), first)
    second = netc_search(spec, postgres, "shared", tmp_path / "worker1")
    try:
        wait_for(lambda: any((t.user_attrs.get("result") or {}).get("pid") == second.pid
                             for t in trials_of(postgres, "shared")), second)
    finally:
        first.send_signal(signal.SIGCONT)
    outputs = [finished(w) for w in (first, second)]
    trials = trials_of(postgres, "shared")
    done = [t for t in trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    assert len(trials) == len(done) == TRIALS
    assert len(set(configurations(done))) == TRIALS
    # What a 1-worker run draws (test_search checks a 1-worker run draws these).
    assert configurations(done) == sorted(drawn(k) for k in range(TRIALS))
    pids = {t.user_attrs["result"]["pid"] for t in done}
    assert len(pids) == 2, f"one worker ran every trial: {outputs}"
    for i in range(2):      # each folder's results.jsonl holds the whole study, once
        lines = [json.loads(line) for line in (tmp_path / f"worker{i}" / "results.jsonl").read_text().splitlines()]
        assert sorted(r["trial"] for r in lines) == list(range(TRIALS))
        assert (tmp_path / f"worker{i}" / "best.net").exists()
    status = CliRunner().invoke(cli, ["search", "--status", "--storage", postgres, "--study", "shared"])
    assert status.exit_code == 0, status.output
    assert f"{TRIALS} of {TRIALS} trials done" in status.output and "0 running" in status.output
    assert "best so far: trial" in status.output


def test_a_killed_worker_s_trial_is_run_again_and_counted_once(postgres, spec, tmp_path):
    out = tmp_path / "s"
    first = netc_search(spec, postgres, "killed", out, "--heartbeat", "1")

    def mid_trial():        # one trial finished, another running: the trial it dies in
        trials = trials_of(postgres, "killed")
        return any(t.state == optuna.trial.TrialState.COMPLETE for t in trials) and running(trials)

    [killed] = stopped_when(mid_trial, first)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    with open(out / "results.jsonl", "a") as stream:
        stream.write('{"trial": 9, "val')             # as if killed while writing a line

    output = finished(netc_search(spec, postgres, "killed", out, "--heartbeat", "1"))
    trials = trials_of(postgres, "killed")
    seen = [(t.number, t.state.name, t.user_attrs.get("slot"), t.user_attrs.get("result")) for t in trials]
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    slots = sorted(t.user_attrs["slot"] for t in complete)
    assert slots == list(range(TRIALS)), (output, seen)
    assert configurations(complete) == sorted(drawn(k) for k in range(TRIALS))
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    assert [t.number for t in failed] == [killed.number], (killed.number, seen)
    retried = [t for t in complete if t.system_attrs.get("failed_trial") == killed.number]
    # (the kill may land before the trial's values were written: compare by slot)
    slot = killed.user_attrs["slot"]
    assert [t.user_attrs["slot"] for t in retried] == [slot]
    assert tuple(sorted(retried[0].params.items())) == drawn(slot)
    lines = (out / "results.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["trial"] for line in lines) == list(range(TRIALS))

