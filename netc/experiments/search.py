"""`netc search`: a search over a spec's hyperparameters, run on an Optuna
study that any number of workers on any number of machines share.

A spec document + search settings -> a study in a storage (by default a
SQLite file in the search folder) and a search folder with search.json (what
is searched), results.jsonl (the study's finished trials, appended as they
finish) and best.net (the winning configuration as a .net file). Running the
same command again continues the study; no trial is run twice."""
from __future__ import annotations

import copy
import fcntl
import json
import math
import multiprocessing
import os
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import netc
from netc.errors import NetcError, NetcSpecError
from netc.files import write_text_atomically
from netc.outfolders import claim
from netc.overrides import apply_overrides

from . import space as spaces
from . import storage as storages
from . import study as studies
from . import worker as workers
from .trial import THREAD_VARIABLES

FORMAT = "netc-search/2"
RESULTS, SETTINGS, BEST, DATABASE = "results.jsonl", "search.json", "best.net", "study.db"
SCORED = ("ok", "pruned", "diverged", "error")
HEARTBEAT = 10.0
REPORT_SECONDS = 3.0


class SearchInterrupted(NetcError):
    def __init__(self, folder: Path, done: int, total: int, command: str):
        super().__init__(f"search interrupted after {done} of {total} trials; results kept in {folder}",
                         hint=f"resume with: {command}")
        self.folder = folder


def search_settings(plan) -> dict:
    """The `search` directive of a compiled spec; an error when it has none."""
    settings = (plan.document or {}).get("search")
    if not settings:
        raise NetcSpecError(f"network '{plan.name}' has no search directive", path=plan.source,
                            hint="add e.g. 'search lr=log(1e-4, 1e-1) weight_decay=log(1e-8, 1e-4) trials=20 epochs=1'")
    return settings


def base_document(document: dict) -> dict:
    """The document trials start from: the search directive switched off."""
    base = copy.deepcopy(document)
    if "search" in base:
        base["search"] = None
    return base


def require_validation(plan) -> None:
    data = plan.data["data"]
    if data is None or not data.get("validation"):
        raise NetcSpecError(
            f"network '{plan.name}': a search scores trials on validation data, and this spec has none",
            path=plan.source, hint="hold some training data out, e.g. 'data mnist validation=0.2'; "
                                   "the test set is never used to choose hyperparameters")


def run_search(source, search: dict, *, trials=None, epochs=None, jobs=1, seed=None, out=None,
               data_dir=None, storage=None, study=None, sampler="random", pruner="none",
               heartbeat=HEARTBEAT, echo=print, command="netc search FILE --out DIR") -> dict:
    """Run (or join, or continue) a search; returns {folder, results (best
    first), best_path, space}. `source` is a Plan, a document or a .net path;
    `search` holds space, trials and epochs as in the spec's search directive;
    `storage` an Optuna storage URL or journal file (default: the folder's
    SQLite file); `study` the study's name (default: the network's)."""
    plan = netc.load(source) if isinstance(source, (str, Path)) else netc.compile(source)
    base = base_document(plan.document)
    space = search["space"]
    spaces.check_space(space)
    if sampler not in studies.SAMPLERS or pruner not in studies.PRUNERS:
        raise NetcError(f"unknown sampler {sampler!r} or pruner {pruner!r}",
                        hint=f"samplers: {', '.join(studies.SAMPLERS)}; pruners: {', '.join(studies.PRUNERS)}")
    trials = int(trials or search.get("trials") or 20)
    epochs = int(epochs or search.get("epochs") or 1)
    seed = int(seed if seed is not None else (plan.data["seed"] or 0))
    require_validation(plan)
    # Any bad key (a misspelt path, a units value where a list is) fails here,
    # once, rather than in every worker.
    netc.compile(apply_overrides(base, spaces.assignments(spaces.draw(space, seed, 0))))

    folder = Path(out) if out else Path("runs") / f"{plan.name}-search-{datetime.now():%Y%m%d-%H%M%S}"
    url = storage or default_storage(folder)
    name = study or plan.name
    settings = {"format": FORMAT, "space": space, "seed": seed, "epochs": epochs, "sampler": sampler,
                "document": base}
    open_folder(folder, {**settings, "storage": storages.shown_url(url), "study": name})
    handle = studies.open_study(storages.open_storage(url, heartbeat), name, settings, trials,
                                sampler=sampler, pruner=pruner, comparable=_comparable)
    planned = handle.planned()
    reporter = Reporter(handle, folder, space, planned, echo)
    if reporter.done:
        echo(f"continuing study '{name}': {reporter.done} of {planned} trials done")
    job = workers.Job(url, name, settings, sampler, pruner, heartbeat, str(data_dir) if data_dir else None)
    if jobs == 1:
        stopped = workers.work(job, handle, after_trial=reporter.update) == "interrupted"
    else:
        stopped = _run_workers(job, jobs, reporter)
    reporter.update(final=True)
    if stopped:
        raise SearchInterrupted(folder, reporter.done, planned, command.replace("DIR", str(folder)))
    results = ranked(read_results(folder))
    best_path = write_best(folder, base, results) if results and results[0]["status"] == "ok" else None
    return {"folder": folder, "results": results, "best_path": best_path, "space": space}


def default_storage(folder: Path) -> str:
    return f"sqlite:///{(Path(folder) / DATABASE).resolve()}"


def _run_workers(job: workers.Job, jobs: int, reporter: "Reporter") -> bool:
    """`jobs` worker processes on this machine; True when Ctrl-C stopped them."""
    # spawn, not fork: a forked copy of a process whose BLAS threads or
    # database connections are live can deadlock; fresh workers also pick up
    # the one-BLAS-thread setting.
    context = multiprocessing.get_context("spawn")
    with _one_blas_thread():
        processes = [context.Process(target=workers.main, args=(job,)) for _ in range(jobs)]
        for process in processes:
            process.start()
    try:
        while any(p.is_alive() for p in processes):
            reporter.update()
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass        # the workers had the Ctrl-C too: each puts its trial back in the queue
    for process in processes:
        process.join()
    codes = [p.exitcode for p in processes]
    if any(code not in (0, workers.EXIT_INTERRUPTED) for code in codes):
        raise NetcError(f"a search worker failed (exit codes {codes}); its message is above",
                        hint="run the same command again: the study continues where it stopped")
    return workers.EXIT_INTERRUPTED in codes


@contextmanager
def _one_blas_thread():
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: "1" for name in THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class Reporter:
    """Keeps results.jsonl in step with the study and prints a line per new
    result. Reading the study costs more the more trials it has, so it is
    read at most every few seconds while trials run, and once at the end."""

    def __init__(self, handle, folder: Path, space: dict, planned: int, echo, every: float = REPORT_SECONDS):
        self.handle, self.folder, self.space, self.planned, self.echo = handle, folder, space, planned, echo
        self.done, self.every, self.last = len(read_results(folder)), every, -math.inf

    def update(self, final: bool = False) -> None:
        if not final and time.monotonic() - self.last < self.every:
            return
        self.last = time.monotonic()
        _, added = export(self.handle, self.folder, self.space)
        for result in added:
            self.done += 1
            self.echo(progress_line(result, self.done, self.planned))


def study_results(handle, space: dict) -> list[dict]:
    """The study's results (one per trial slot), in the order they finished."""
    made = {}
    finished = sorted((t for t in handle.trials() if studies.trial_state(t) in SCORED),
                      key=lambda t: (t.datetime_complete or datetime.max, t.number))
    for frozen in finished:
        slot = frozen.user_attrs.get(studies.SLOT_ATTR)
        if slot is not None and slot not in made:
            made[slot] = result_record(frozen, space)
    return list(made.values())


def result_record(frozen, space: dict) -> dict:
    status = studies.trial_state(frozen)
    attrs = frozen.user_attrs.get(studies.RESULT_ATTR) or {}
    curve = [frozen.intermediate_values[step] for step in sorted(frozen.intermediate_values)]
    val_acc = frozen.value if status == "ok" else curve[-1] if status == "pruned" and curve else None
    record = {"trial": frozen.user_attrs[studies.SLOT_ATTR], "number": frozen.number,
              "values": {key: frozen.params.get(key) for key in space}, "status": status,
              "val_acc": val_acc, "val_curve": curve, "epochs": len(curve)}
    for key in ("val_loss", "train_loss", "train_acc", "seconds", "host", "pid", "message"):
        record[key] = attrs.get(key)
    if status == "pruned":
        record["val_loss"] = None        # scored on the full validation set only when finished
    return record


def export(handle, folder: Path, space: dict) -> tuple[int, list[dict]]:
    """Append the study's results that results.jsonl lacks; (lines now in
    the file, the ones appended). A line cut off by a crash is dropped and
    written again; a file lock keeps workers sharing a folder apart."""
    path = Path(folder) / RESULTS
    with open(path, "a+") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)
        stream.seek(0)
        kept, length = _complete_lines(stream.read())
        stream.truncate(length)
        have = {r["trial"] for r in kept}
        added = [r for r in study_results(handle, space) if r["trial"] not in have]
        stream.write("".join(json.dumps(r) + "\n" for r in added))
        stream.flush()
        os.fsync(stream.fileno())
    return len(kept) + len(added), added


def _complete_lines(text: str) -> tuple[list[dict], int]:
    """The records of every whole line, and the length of text they fill."""
    kept, length = [], 0
    for line in text.splitlines(keepends=True):
        try:
            if not line.endswith("\n"):
                raise ValueError("cut off")
            kept.append(json.loads(line))
        except ValueError:
            break
        length += len(line.encode())
    return kept, length


def open_folder(folder: Path, settings: dict) -> None:
    """Create the folder, or check it holds this same search (a folder holding
    a run or a comparison is refused, as train and compare refuse a search's)."""
    claim(folder, "search")
    path = folder / SETTINGS
    if path.exists():
        if _comparable(json.loads(path.read_text())) != _comparable(settings):
            raise NetcError(f"{folder} holds a different search (network, space, seed, epochs, sampler, "
                            "storage or study differ)", hint="pass another --out folder, or delete this one")
    else:
        write_text_atomically(path, json.dumps(settings, indent=2) + "\n")


def _comparable(settings: dict) -> str:
    # Source positions move when a comment is edited; the search stays the same.
    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("line", "column")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node
    return json.dumps(strip(settings), sort_keys=True)


def read_results(folder) -> list[dict]:
    """Every complete line of results.jsonl; a line cut off by a crash is ignored."""
    path = Path(folder) / RESULTS
    if not path.exists():
        return []
    results = []
    for line in path.read_text().splitlines():
        try:
            results.append(json.loads(line))
        except ValueError:
            continue
    return results


def ranked(results: list[dict]) -> list[dict]:
    """Finished trials by validation accuracy, best first (lower validation
    loss breaks ties); then pruned ones the same way; failed trials last."""
    return sorted(results, key=lambda r: (r["val_acc"] is None, r.get("status") == "pruned", -(r["val_acc"] or 0),
                                          r["val_loss"] if r["val_loss"] is not None else 0, r["trial"]))


def _value(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def progress_line(result: dict, finished: int, total: int) -> str:
    score = f"val {result['val_acc']:.4f}" if result["val_acc"] is not None else result["status"]
    if result.get("status") == "pruned":
        score += f" pruned after {result['epochs']} epochs"
    values = "  ".join(f"{k}={_value(v)}" for k, v in result["values"].items())
    seconds = f"  {result['seconds']:.1f}s" if result.get("seconds") is not None else ""
    where = f"  {result['host']}" if result.get("host") else ""
    return f"trial {result['trial']:>3} ({finished}/{total})  {score}  {values}{seconds}{where}"


def table(results: list[dict], space: dict) -> str:
    """The results as a text table, in the order given."""
    keys = list(space)
    header = ["rank", "trial", "val_acc", "val_loss", "train_acc"] + keys
    rows = [header]
    for rank, r in enumerate(results, 1):
        if r.get("status") == "pruned":
            score = [f"{r['val_acc']:.4f}", "pruned", f"{r['train_acc']:.4f}"]
        elif r["val_acc"] is not None:
            score = [f"{r['val_acc']:.4f}", f"{r['val_loss']:.4f}", f"{r['train_acc']:.4f}"]
        else:
            score = [r["status"], "-", "-"]
        rows.append([str(rank), str(r["trial"])] + score + [_value(r["values"].get(k)) for k in keys])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def write_best(folder: Path, base: dict, results: list[dict]) -> Path:
    """best.net: the base spec with the best trial's values, search removed,
    training settings as the spec had them (not the search's short epochs)."""
    best = results[0]
    document = apply_overrides(base, spaces.assignments(best["values"]))
    values = ", ".join(f"{k}={_value(v)}" for k, v in best["values"].items())
    header = (f"# Best of {len(results)} search trials in {folder}: trial {best['trial']}, "
              f"validation accuracy {best['val_acc']:.4f}\n# {values}\n")
    path = folder / BEST
    write_text_atomically(path, header + netc.format(document))
    return path


def status(storage: str, name: str | None = None) -> str:
    """Where a study stands, from any machine: trials done, pruned, failed,
    running and waiting, and the best so far."""
    handle = studies.find_study(storages.open_storage(storage, HEARTBEAT), name)
    settings, planned = handle.settings() or {}, handle.planned()
    states = list(studies.slot_states(handle).values())
    count = {state: states.count(state) for state in ("ok", "pruned", "diverged", "error", "running", "waiting", "lost")}
    done = count["ok"] + count["pruned"] + count["diverged"] + count["error"]
    count["waiting"] = (planned or 0) - done - count["running"] - count["lost"]    # queued or not yet
    lines = [f"study '{handle.name()}' in {storages.shown_url(storage)}: {done} of {planned} trials done "
             f"({count['ok']} finished, {count['pruned']} pruned, {count['diverged'] + count['error']} diverged "
             f"or failed), {count['running']} running, {count['waiting']} waiting"
             + (f", {count['lost']} lost after repeated retries" if count["lost"] else "")]
    best = ranked(study_results(handle, settings.get("space", {})))
    if best and best[0]["status"] == "ok":
        values = "  ".join(f"{k}={_value(v)}" for k, v in best[0]["values"].items())
        lines.append(f"best so far: trial {best[0]['trial']}, validation accuracy {best[0]['val_acc']:.4f}  {values}")
    return "\n".join(lines)
