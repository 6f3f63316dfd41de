"""`netc compare`: .net files x `--vary` values -> one training run per
variant, all with the same data and seed, in one folder with compare.json;
a table of final figures and the loss curves side by side."""
from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import netc
from netc.errors import NetcError
from netc.files import write_text_atomically
from netc.outfolders import claim

from . import variants as varying
from .curves import text_curves

INDEX = "compare.json"     # netc/outfolders.py's marker of a comparison folder


def compare(files, varies=(), *, sets=(), epochs=None, seed=None, out=None, data_dir=None,
            echo=print, force=False) -> dict:
    """Train every (file, --vary combination); returns {folder, variants}, each
    variant {label, run_dir, summary, records}."""
    from netc.training import train
    files = [Path(f) for f in files]
    if not files:
        raise NetcError("compare needs at least one .net file")
    plans = [netc.load(f) for f in files]
    combos = varying.expand(list(varies))
    if len(files) == 1 and combos == [("", [])]:
        raise NetcError("nothing to compare: give --vary KEY=V1,V2,... or a second .net file")
    # One seed for every variant (the first file's unless --seed): the same
    # initial draw, batch order and validation split, so only the varied
    # setting differs.
    seed = seed if seed is not None else (plans[0].data["seed"] or 0)
    folder = Path(out) if out else Path("runs") / f"compare-{plans[0].name}-{datetime.now():%Y%m%d-%H%M%S}"
    variants = []
    for path, plan in zip(files, plans):
        for combo_label, assignments in combos:
            label = "/".join(part for part in (path.stem if len(files) > 1 else "", combo_label) if part)
            variants.append((label, _checked(plan, sets, assignments, seed, epochs)))
    claim(folder, "comparison", force)     # a folder holding other output is refused
    results = []
    for label, document in variants:        # every variant compiled before the first trains
        # the comparison's own folder is claimed: its variants' runs may be replaced
        summary = train(document, epochs=epochs, out=folder / slug(label), data_dir=data_dir, quiet=True,
                        force=True)
        records = read_metrics(summary["run_dir"])
        results.append({"label": label, "run_dir": summary["run_dir"], "summary": summary,
                        "records": records})
        echo(f"{label}: loss {_fmt(summary['train_loss'])}  test {_fmt(summary['test_acc'])}  "
             f"{summary['seconds']:.1f}s")
    index = [{"label": r["label"], "run_dir": str(Path(r["run_dir"]).relative_to(folder)),
              "summary": r["summary"]} for r in results]
    write_text_atomically(folder / INDEX, json.dumps({"files": [str(f) for f in files], "vary": list(varies),
                                                     "set": list(sets), "seed": seed, "variants": index},
                                                    indent=2) + "\n")
    return {"folder": folder, "variants": results}


def _checked(plan, sets, assignments, seed, epochs) -> dict:
    """The variant's document, compiled once so that a bad --vary value stops
    the comparison before any variant trains."""
    from netc.training import located, require_trainable, resolve_plan
    document = varying.apply(plan.document, sets, assignments + [f"seed={seed}"])
    try:
        require_trainable(resolve_plan(document, epochs=epochs))
    except NetcError as error:
        if assignments:
            error.message = f"--vary {' '.join(assignments)}: {error.message}"
        raise located(error, plan)
    return document


def load_comparison(folder) -> list[dict]:
    """The variants of a compare folder, each with its metrics records."""
    folder = Path(folder)
    try:
        index = json.loads((folder / INDEX).read_text())
    except FileNotFoundError:
        raise NetcError(f"{folder}: not a compare folder (no {INDEX})") from None
    return [{**v, "run_dir": str(folder / v["run_dir"]), "records": read_metrics(folder / v["run_dir"])}
            for v in index["variants"]]


def read_metrics(run_dir) -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        raise NetcError(f"{run_dir}: not a run folder (no metrics.jsonl)") from None


def table(variants: list[dict]) -> str:
    header = ["variant", "epochs", "train_loss", "train_acc", "val_acc", "test_acc", "seconds"]
    rows = [header]
    for v in variants:
        s = v["summary"]
        rows.append([v["label"], str(s["epochs"]), _fmt(s["train_loss"]), _fmt(s["train_acc"]),
                     _fmt(s["val_acc"]), _fmt(s["test_acc"]), f"{s['seconds']:.1f}"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                     .rstrip() for row in rows)


def text_figures(variants: list[dict]) -> str:
    """The PNG's curves as plain text: every variant on one grid per key
    (training and test accuracy get a grid each: text has no dashed lines)."""
    from .plots import COMPARE_PANELS
    keys = [key for _, _, panel_keys in COMPARE_PANELS for key in panel_keys]
    names = {"train_loss": "training loss", "test_acc": "test accuracy", "train_acc": "training accuracy"}
    return "\n\n".join(text_curves({v["label"]: [r.get(key) for r in v["records"]] for v in variants},
                                    title=f"{names[key]} per epoch") for key in keys)


def slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-") or "run"


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"
