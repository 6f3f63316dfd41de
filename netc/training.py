"""`netc train` and `netc.train()`: a spec, overrides and a data set in, a
run folder out (spec.json, plan.json, metrics.jsonl, checkpoint.npz)."""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import netc
from netc.compiler.plan import Plan
from netc.errors import NetcDataError, NetcError, NetcRuntimeError
from netc.overrides import apply_overrides
from netc.reporting import Reporter
from netc.runtime.checkpoint import load_checkpoint, load_weights, save_checkpoint
from netc.runtime.data import load_dataset
from netc.runtime.network import Network
from netc.runtime.optimizers import make_optimizer
from netc.runtime.trainer import Interrupted, Position, Trainer

CHECKPOINT = "checkpoint.npz"
BEST = "best.npz"       # the best epoch's weights, when early stopping watches


def resolve_plan(source, overrides=(), epochs=None, kernels="auto") -> Plan:
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
    """runs/NAME-YYYYmmdd-HHMMSS/ (or --out): spec, plan, metrics, checkpoint."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.checkpoint = self.path / CHECKPOINT

    @classmethod
    def create(cls, plan: Plan, out=None) -> "RunFolder":
        path = Path(out) if out else Path("runs") / f"{plan.name}-{datetime.now():%Y%m%d-%H%M%S}"
        path.mkdir(parents=True, exist_ok=True)
        folder = cls(path)
        (path / "spec.json").write_text(json.dumps(plan.document, indent=2) + "\n")
        (path / "plan.json").write_text(plan.to_json() + "\n")
        (path / "metrics.jsonl").write_text("")
        return folder

    def write_metrics(self, records) -> None:
        (self.path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))

    def spec(self) -> dict:
        try:
            return json.loads((self.path / "spec.json").read_text())
        except FileNotFoundError:
            raise NetcDataError(f"{self.path}: not a run folder (no spec.json)") from None


def train(source=None, *, epochs=None, overrides=(), out=None, weights=None, resume=None,
          data_dir=None, quiet=True, stream=None, kernels="auto") -> dict:
    """Train and return the summary: epochs, train_loss, train_acc, val_acc,
    test_acc, seconds, images_per_s, run_dir."""
    started = time.perf_counter()
    if resume:
        folder = RunFolder(resume)
        plan = resolve_plan(netc.compile(folder.spec()), overrides, epochs, kernels)
    else:
        plan = resolve_plan(source, overrides, epochs, kernels)
    require_trainable(plan)
    data = load_data(plan, data_dir)
    network = Network(plan.data)
    optimizer = make_optimizer(plan.data["optimizer"])
    position, records = Position(), []
    if resume:
        meta = load_checkpoint(folder.checkpoint, network, optimizer)
        position, records = Position(**meta["position"]), meta["records"]
        (folder.path / "plan.json").write_text(plan.to_json() + "\n")
    else:
        if weights:
            load_weights(weights_path(weights), network)
        folder = RunFolder.create(plan, out)
    reporter = Reporter(plan, quiet=quiet, stream=stream)

    def save(pos, recs):
        save_checkpoint(folder.checkpoint, network, optimizer,
                        {"position": asdict(pos), "records": recs, "name": plan.name, "trainer": trainer.state()})
        folder.write_metrics(recs)

    def save_best(record):
        save_checkpoint(folder.path / BEST, network, None, {"name": plan.name, "epoch": record["epoch"]})

    trainer = Trainer(network, optimizer, data, plan.data["train"], plan.data["seed"],
                      on_step=reporter.step, on_epoch=reporter.epoch, save=save, records=list(records),
                      schedule=plan.data["schedule"], clip=plan.data["clip"], on_best=save_best)
    if resume:
        trainer.load_state(meta.get("trainer"))
    reporter.start(data, folder.path, position.epoch)
    try:
        records = trainer.run(position)
    except Interrupted as stop:
        reporter.close()
        raise TrainingInterrupted(folder.path, stop.position) from None
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


class TrainingInterrupted(NetcError):
    def __init__(self, run_dir: Path, position: Position):
        super().__init__(f"training interrupted in epoch {position.epoch + 1} (step {position.step}); "
                         f"checkpoint saved in {run_dir}",
                         hint=f"resume with: netc train --resume {run_dir}")
        self.run_dir = run_dir


def evaluate_file(source, weights, data_dir=None, kernels="auto") -> dict:
    """Loss and accuracy of saved weights on the whole test set."""
    from netc.runtime.metrics import evaluate
    plan = resolve_plan(source, kernels=kernels)
    if plan.data["data"] is None:
        raise located(NetcRuntimeError(f"network '{plan.name}' has no 'data' directive: nothing to evaluate on",
                                       hint="add e.g. 'data mnist'"), plan)
    network = Network(plan.data)
    load_weights(weights_path(weights), network)
    data = load_data(plan, data_dir)
    result = evaluate(network, data.x_test, data.t_test)
    return {"loss": result["loss"], "accuracy": result["accuracy"], "count": result["count"]}
