"""`netc search`: random search over a spec's hyperparameters.

A spec document + search settings -> a search folder with search.json (what
is searched), results.jsonl (one line per finished trial, appended as trials
finish) and best.net (the winning configuration as a .net file). Running the
same search into the same folder again skips the trials already recorded."""
from __future__ import annotations

import concurrent.futures as futures
import copy
import json
import multiprocessing
import os
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import netc
from netc.errors import NetcError, NetcSpecError
from netc.overrides import apply_overrides

from . import space as spaces
from .trial import THREAD_VARIABLES, run_trial, worker_init

FORMAT = "netc-search/1"
RESULTS, SETTINGS, BEST = "results.jsonl", "search.json", "best.net"


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
               data_dir=None, echo=print, command="netc search FILE --out DIR") -> dict:
    """Run (or resume) a search; returns {folder, results (best first), best_path}.
    `source` is a Plan, a document or a .net path; `search` holds space,
    trials and epochs as in the spec's search directive."""
    plan = netc.load(source) if isinstance(source, (str, Path)) else netc.compile(source)
    base = base_document(plan.document)
    space = search["space"]
    spaces.check_space(space)
    trials = int(trials or search.get("trials") or 20)
    epochs = int(epochs or search.get("epochs") or 1)
    seed = int(seed if seed is not None else (plan.data["seed"] or 0))
    require_validation(plan)
    # Any bad key (a misspelt path, a units value where a list is) fails here,
    # once, rather than in every worker.
    netc.compile(apply_overrides(base, spaces.assignments(spaces.draw(space, seed, 0))))

    folder = Path(out) if out else Path("runs") / f"{plan.name}-search-{datetime.now():%Y%m%d-%H%M%S}"
    settings = {"format": FORMAT, "space": space, "seed": seed, "epochs": epochs, "document": base}
    done = open_folder(folder, settings)
    pending = [k for k in range(trials) if k not in done]
    if done:
        echo(f"resuming {folder}: {len(done)} trials done, {len(pending)} to run")
    command = command.replace("DIR", str(folder))
    finished = len([k for k in done if k < trials])

    def record(result):
        nonlocal finished
        with open(folder / RESULTS, "a") as stream:
            stream.write(json.dumps(result) + "\n")
        finished += 1
        echo(progress_line(result, finished, trials))

    jobs = max(1, min(int(jobs or 1), len(pending) or 1))
    tasks = [(base, k, values, spaces.assignments(values), epochs, data_dir)
             for k, values in ((k, spaces.draw(space, seed, k)) for k in pending)]
    stopped = _run_serial(tasks, record) if jobs == 1 else _run_parallel(tasks, record, jobs)
    if stopped:
        raise SearchInterrupted(folder, finished, trials, command)
    results = ranked(read_results(folder))
    best_path = write_best(folder, base, results) if results and results[0]["val_acc"] is not None else None
    return {"folder": folder, "results": results, "best_path": best_path, "space": space}


def _run_serial(tasks, record) -> bool:
    for task in tasks:
        result = run_trial(*task)
        if result["status"] == "interrupted":      # the trainer caught Ctrl-C
            return True
        record(result)
    return False


def _run_parallel(tasks, record, jobs) -> bool:
    # spawn, not fork: a forked copy of a process whose BLAS threads are
    # running can deadlock, and fresh workers pick up the one-thread setting.
    context = multiprocessing.get_context("spawn")
    kept, stopped = set(), False

    def keep(result):
        if result["status"] != "interrupted" and result["trial"] not in kept:
            kept.add(result["trial"])
            record(result)

    with _one_blas_thread(), futures.ProcessPoolExecutor(jobs, context, initializer=worker_init) as pool:
        running = [pool.submit(run_trial, *task) for task in tasks]
        try:
            for future in futures.as_completed(running):
                result = future.result()
                stopped = result["status"] == "interrupted"
                if stopped:
                    break
                keep(result)
        except KeyboardInterrupt:
            stopped = True
        if stopped:
            # Queued trials never start; those already training finish (or
            # stop at the Ctrl-C they also received) and complete ones are kept.
            for future in running:
                future.cancel()
            for future in running:
                if not future.cancelled():
                    keep(future.result())
    return stopped


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


def open_folder(folder: Path, settings: dict) -> set[int]:
    """Create the folder, or check it holds this same search; the trial
    indices it already has."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SETTINGS
    if path.exists():
        if _comparable(json.loads(path.read_text())) != _comparable(settings):
            raise NetcError(f"{folder} holds a different search (network, space, seed or epochs differ)",
                            hint="pass another --out folder, or delete this one")
    else:
        path.write_text(json.dumps(settings, indent=2) + "\n")
    return {r["trial"] for r in read_results(folder)}


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
    """Best validation accuracy first (lower validation loss breaks ties);
    failed trials last, by index."""
    return sorted(results, key=lambda r: (r["val_acc"] is None, -(r["val_acc"] or 0),
                                          r["val_loss"] if r["val_loss"] is not None else 0, r["trial"]))


def _value(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def progress_line(result: dict, finished: int, total: int) -> str:
    score = f"val {result['val_acc']:.4f}" if result["val_acc"] is not None else result["status"]
    values = "  ".join(f"{k}={_value(v)}" for k, v in result["values"].items())
    return f"trial {result['trial']:>3} ({finished}/{total})  {score}  {values}  {result['seconds']:.1f}s"


def table(results: list[dict], space: dict) -> str:
    """The results as a text table, in the order given."""
    keys = list(space)
    header = ["rank", "trial", "val_acc", "val_loss", "train_acc"] + keys
    rows = [header]
    for rank, r in enumerate(results, 1):
        score = [f"{r['val_acc']:.4f}", f"{r['val_loss']:.4f}", f"{r['train_acc']:.4f}"] \
            if r["val_acc"] is not None else [r["status"], "-", "-"]
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
    path.write_text(header + netc.format(document))
    return path
