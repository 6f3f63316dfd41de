"""`netc train` and `netc.train()`: a spec, overrides and a data set in, a
run folder out (spec.json, plan.json, metrics.jsonl, checkpoint.npz)."""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import netc
from netc.compiler.plan import Plan
from netc import outfolders
from netc.files import check_regular, remove_stale_temporaries, write_text_atomically
from netc.errors import NetcDataError, NetcDivergedError, NetcError, NetcRuntimeError
from netc.overrides import apply_overrides
from netc.reporting import Reporter
from netc.runtime.budget import check_memory
from netc.runtime.checkpoint import load_checkpoint, load_weights, save_checkpoint
from netc.runtime.data import load_dataset
from netc.runtime.network import Network
from netc.runtime.trainer import Interrupted, Position
from netc.runtime.setup import TrainingSetup

CHECKPOINT = "checkpoint.npz"
BEST = "best.npz"       # the best epoch's weights, when early stopping watches
EVAL_BATCH = 1000       # runtime.metrics.evaluate's batch


def resolve_plan(source, overrides=(), epochs=None, kernels=None) -> Plan:
    """A .net path, text, document or Plan, with --set, --epochs and --kernels applied."""
    if isinstance(source, Plan):
        plan = netc.compile(source, kernels)
    elif isinstance(source, (str, Path)) and (isinstance(source, Path) or source.endswith(".net")):
        plan = netc.load(source, kernels)
    else:
        plan = netc.compile(source, kernels)
    assignments = list(overrides) + ([f"train.epochs={epochs}"] if epochs is not None else [])
    if assignments:
        try:
            overridden = netc.compile(apply_overrides(plan.document, assignments), kernels)
        except NetcError as error:
            raise located(error, plan)
        overridden.source = plan.source
        plan = overridden
    return plan


def located(error: NetcError, plan: Plan) -> NetcError:
    """Point an error at the plan's .net file, with the source line when it has one."""
    text = None
    if plan.source and error.line:
        try:
            text = Path(plan.source).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            pass
    return error.located(plan.source, text)


def require_trainable(plan: Plan) -> None:
    try:
        _require_trainable(plan)
    except NetcError as error:
        raise located(error, plan)


def _require_trainable(plan: Plan) -> None:
    if plan.loss is None:
        last = plan.layers[-1]
        raise NetcRuntimeError(f"network '{plan.name}' ends in '{last['op']}', so it has no loss: "
                               "it can be run, not trained", line=last["line"], column=last["column"],
                               hint="end the chain with softmax (classes) or identity (regression)")
    for step in plan.layers:
        if step["op"] == "step":
            raise NetcRuntimeError("the step function has no gradient: this network can be run, not trained",
                                   line=step["line"], column=step["column"],
                                   hint="use sigmoid or relu instead of step to train")
    if plan.data["data"] is None:
        raise NetcRuntimeError(f"network '{plan.name}' has no 'data' directive: nothing to train on",
                               hint="add e.g. 'data mnist'")


def require_memory(plan: Plan, batch: int, training: bool = False, itemsize: int = 4) -> None:
    """Refuse, before building anything, a network the machine cannot hold (runtime/budget.py)."""
    try:
        check_memory(plan, batch, training=training, itemsize=itemsize)
    except NetcError as error:
        raise located(error, plan)


def load_data(plan: Plan, data_dir=None):
    try:
        return load_dataset(plan.data["data"], plan.data["input_shape"], plan.data["seed"], data_dir)
    except NetcError as error:
        raise located(error, plan)


def weights_path(path) -> Path:
    """A weights file, or a run folder meaning its checkpoint."""
    path = Path(path)
    return path / CHECKPOINT if path.is_dir() else path


class RunFolder:
    """runs/NAME-YYYYmmdd-HHMMSS/ (or --out): spec, plan, metrics, checkpoint.
    Every file is written atomically (netc.files); metrics.jsonl writes a
    NaN or infinite number as null, so every line is JSON."""

    FILES = ("spec.json", "plan.json", "metrics.jsonl", CHECKPOINT)

    def __init__(self, path: Path):
        self.path = Path(path)
        self.checkpoint = self.path / CHECKPOINT

    @classmethod
    def create(cls, plan: Plan, out=None, force: bool = False) -> "RunFolder":
        path = Path(out) if out else Path("runs") / f"{plan.name}-{datetime.now():%Y%m%d-%H%M%S}"
        folder = cls(outfolders.claim(path, "run", force=force))
        folder.clean_temporaries()
        if force:
            # A replaced run's checkpoint must not be resumed with the new spec.
            folder.checkpoint.unlink(missing_ok=True)
        folder.write("spec.json", json.dumps(plan.document, indent=2) + "\n")
        folder.write("plan.json", plan.to_json() + "\n")
        folder.write("metrics.jsonl", "")
        return folder

    @classmethod
    def existing(cls, path) -> "RunFolder":
        """A run folder to resume; its leftovers from a killed writer removed."""
        folder = cls(path)
        if not folder.path.is_dir():
            raise NetcDataError(f"{folder.path}: no such run folder")
        folder.clean_temporaries()
        return folder

    def clean_temporaries(self) -> None:
        for name in self.FILES:
            remove_stale_temporaries(self.path, name)

    def write(self, name: str, text: str) -> None:
        write_text_atomically(self.path / name, text)

    def write_metrics(self, records) -> None:
        self.write("metrics.jsonl", "".join(json.dumps(json_numbers(r), allow_nan=False) + "\n"
                                            for r in records))

    def spec(self) -> dict:
        """The run's spec document; a clear error when spec.json is not one."""
        path = self.path / "spec.json"
        if not path.exists():
            raise NetcDataError(f"{self.path}: not a run folder (no spec.json)")
        check_regular(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise NetcDataError(f"{path}: not a readable JSON file ({str(exc)[:80]})",
                                hint="the run folder is damaged; start a new run") from None
        if not isinstance(document, dict):
            raise NetcDataError(f"{path}: not a spec document (a JSON object)",
                                hint="the run folder is damaged; start a new run")
        return document


def json_numbers(value):
    """`value` with every NaN or infinite float made None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_numbers(v) for v in value]
    return value


def _resume_state(meta: dict, path) -> tuple[Position, list]:
    """The position and records a checkpoint's metadata holds, each checked."""
    try:
        position = Position(**meta["position"])
    except (KeyError, TypeError):           # missing, not an object, or unknown keys
        position = None
    if position is None or not _valid(position):
        raise NetcDataError(f"{path}: the checkpoint's training position is missing or invalid")
    records = meta.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise NetcDataError(f"{path}: the checkpoint's epoch records are missing or invalid")
    return position, records


def _valid(position: Position) -> bool:
    def count(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    return (count(position.epoch) and count(position.step) and count(position.images)
            and number(position.loss_sum) and number(position.seconds)
            and (position.first_loss is None or number(position.first_loss)))


def _same_spec(source, overrides, epochs, folder: RunFolder, plan: Plan) -> None:
    """`netc train FILE --resume DIR`: FILE must be the run's spec. Its epochs
    may differ (resuming to train longer) and its name (a file's name is its default)."""
    given = resolve_plan(source, overrides, epochs)
    if given.data["train"]["epochs"] != plan.data["train"]["epochs"]:
        given = resolve_plan(given, [f"train.epochs={plan.data['train']['epochs']}"])
    ours, theirs = ({k: v for k, v in _without_positions(p.document).items() if k != "name"}
                    for p in (given, plan))
    difference = first_difference(ours, theirs)
    if difference is not None:
        where, mine, run = difference
        raise NetcError(f"{source} differs from the run being resumed ({folder.path / 'spec.json'}) "
                        f"at {where}: {json.dumps(mine)} in the file, {json.dumps(run)} in the run",
                        hint=f"resume without FILE (netc train --resume {folder.path}), "
                             "or train FILE into a new --out folder")


def _without_positions(node):
    if isinstance(node, dict):
        return {k: _without_positions(v) for k, v in node.items() if k not in ("line", "column")}
    if isinstance(node, list):
        return [_without_positions(v) for v in node]
    return node


def first_difference(a, b, path: str = ""):
    """(dotted path, a's value, b's value) where two documents first differ, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            found = first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}.{i}" if path else str(i))
            if found:
                return found
        return None
    return None if a == b else (path or "the top", a, b)


def train(source=None, *, epochs=None, overrides=(), out=None, weights=None, resume=None,
          data_dir=None, quiet=True, stream=None, force=False, kernels=None) -> dict:
    """Train and return the summary: epochs, train_loss, train_acc, val_acc,
    test_acc, seconds, images_per_s, run_dir. `out` holding a run is refused
    unless `force`; with `resume`, a `source` must be the run's own spec."""
    started = time.perf_counter()
    if resume:
        folder = RunFolder.existing(resume)
        plan = resolve_plan(netc.compile(folder.spec()), overrides, epochs, kernels)
        if source is not None:
            _same_spec(source, overrides, epochs, folder, plan)
    else:
        plan = resolve_plan(source, overrides, epochs, kernels)
    require_trainable(plan)
    require_memory(plan, plan.data["train"]["batch"], training=True)
    require_memory(plan, EVAL_BATCH)        # each epoch's scoring runs batches of this size
    data = load_data(plan, data_dir)
    setup = TrainingSetup(plan.data)
    network, optimizer = setup.network, setup.optimizer
    position, records = Position(), []
    if resume:
        meta = load_checkpoint(folder.checkpoint, network, optimizer)
        position, records = _resume_state(meta, folder.checkpoint)
        folder.write("plan.json", plan.to_json() + "\n")
    else:
        if weights:
            load_weights(weights_path(weights), network)
        folder = RunFolder.create(plan, out, force=force)
    reporter = Reporter(plan, quiet=quiet, stream=stream)

    def save(pos, recs):
        save_checkpoint(folder.checkpoint, network, optimizer,
                        {"position": asdict(pos), "records": recs, "name": plan.name, "trainer": trainer.state()})
        folder.write_metrics(recs)

    def save_best(record):
        save_checkpoint(folder.path / BEST, network, None, {"name": plan.name, "epoch": record["epoch"]})

    trainer = setup.trainer(data, on_step=reporter.step, on_epoch=reporter.epoch, save=save,
                            records=list(records), on_best=save_best)
    if resume:
        trainer.load_state(meta.get("trainer"))
    reporter.start(data, folder.path, position.epoch)
    try:
        records = trainer.run(position)
    except Interrupted as stop:
        reporter.close()
        raise TrainingInterrupted(folder.path, stop) from None
    except NetcDivergedError as error:
        reporter.close()
        error.hint = f"{error.hint}; {_kept(folder)}"
        raise
    if trainer.stopping.stopped:
        reporter.note(f"stopped early: {trainer.settings['monitor']} not better for "
                      f"{trainer.stopping.wait} epochs; epoch {trainer.stopping.best_epoch}'s weights "
                      f"are in {folder.path / BEST}")
    reporter.close()
    last = records[-1] if records else {}
    images = sum(len(data.x_train) for _ in records)
    train_seconds = last.get("train_seconds") or 0.0
    return {
        "epochs": len(records), "train_loss": last.get("train_loss"), "train_acc": last.get("train_acc"),
        "val_acc": last.get("val_acc"), "test_acc": last.get("test_acc"),
        "stopped_early": trainer.stopping.stopped, "best_epoch": trainer.stopping.best_epoch,
        "seconds": round(time.perf_counter() - started, 3),
        "images_per_s": round(images / train_seconds, 1) if train_seconds else None,
        "run_dir": str(folder.path),
    }


def _kept(folder: RunFolder) -> str:
    if folder.checkpoint.exists():
        return f"the last good checkpoint is kept in {folder.checkpoint}"
    return "no checkpoint was written"


class TrainingInterrupted(NetcError):
    """Ctrl-C or SIGTERM: stopped at a step boundary with a checkpoint saved,
    or (a second signal) at once, with the last checkpoint as it was."""

    def __init__(self, run_dir: Path, stop: Interrupted):
        position, saved = stop.position, stop.saved
        if not stop.at_once:
            message = (f"training interrupted in epoch {position.epoch + 1} (step {position.step}); "
                       f"checkpoint saved in {run_dir}")
        elif saved is not None:
            message = (f"training stopped at once in epoch {position.epoch + 1} (step {position.step}), "
                       f"nothing saved since the checkpoint in {run_dir}: epoch {saved.epoch + 1}, "
                       f"step {saved.step}" + (" (the start of that epoch)" if saved.step == 0 else ""))
        else:
            message = (f"training stopped at once in epoch {position.epoch + 1} (step {position.step}); "
                       f"no checkpoint was saved yet in {run_dir}")
        super().__init__(message, hint=f"resume with: netc train --resume {run_dir}" if saved else
                         "start the run again")
        self.run_dir = run_dir


def evaluate_file(source, weights, data_dir=None, kernels=None) -> dict:
    """Loss and accuracy of saved weights on the whole test set."""
    from netc.runtime.metrics import evaluate
    plan = resolve_plan(source, kernels=kernels)
    if plan.data["data"] is None:
        raise located(NetcRuntimeError(f"network '{plan.name}' has no 'data' directive: nothing to evaluate on",
                                       hint="add e.g. 'data mnist'"), plan)
    require_memory(plan, EVAL_BATCH)
    network = Network(plan.data)
    load_weights(weights_path(weights), network)
    data = load_data(plan, data_dir)
    result = evaluate(network, data.x_test, data.t_test)
    return {"loss": result["loss"], "accuracy": result["accuracy"], "count": result["count"]}
