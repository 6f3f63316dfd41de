"""PNG figures of finished experiments: a run folder, a compare folder or a
search folder -> one image. matplotlib is an optional extra (netc[plot]),
imported only here and only when a figure is drawn, with the Agg backend so
no display is needed."""
from __future__ import annotations

import json
import math
from pathlib import Path

from netc.errors import NetcError

DEFAULT_NAMES = {"run": "curves.png", "compare": "compare.png", "search": "search.png"}


def pyplot():
    """matplotlib.pyplot on the Agg backend, or a NetcError saying how to get it."""
    try:
        import matplotlib
    except ImportError:
        raise NetcError("plotting needs matplotlib, which is not installed",
                        hint="pip install 'netc[plot]'   (or: pip install matplotlib)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def folder_kind(folder) -> str:
    """"search", "compare" or "run", from the files the folder holds."""
    folder = Path(folder)
    for kind, marker in (("search", "search.json"), ("compare", "compare.json"), ("run", "metrics.jsonl")):
        if (folder / marker).exists():
            return kind
    raise NetcError(f"{folder}: not a run, compare or search folder "
                    "(no metrics.jsonl, compare.json or search.json)")


def plot_folder(folder, out=None) -> Path:
    """Draw whatever the folder holds; returns the PNG's path (default: inside it)."""
    folder = Path(folder)
    kind = folder_kind(folder)
    out = Path(out) if out else folder / DEFAULT_NAMES[kind]
    if kind == "search":
        from .search import ranked, read_results
        settings = json.loads((folder / "search.json").read_text())
        return plot_search(ranked(read_results(folder)), settings["space"], out, title=folder.name)
    if kind == "compare":
        from .compare import load_comparison
        return plot_comparison(load_comparison(folder), out)
    from .compare import read_metrics
    return plot_run(read_metrics(folder), out, title=folder.name)


# What a run's figure shows, panel by panel: (title, y label, ((record key,
# label), ...)). The PNG and `netc plot --text` both draw from this table, so
# they show the same curves.
RUN_PANELS = (
    ("loss", "loss", (("train_loss", "train"), ("val_loss", "validation"), ("test_loss", "test"))),
    ("accuracy", "accuracy", (("train_acc", "train"), ("val_acc", "validation"), ("test_acc", "test"))),
)
# A comparison: one curve per variant of each key; accuracy: test solid, training dashed.
COMPARE_PANELS = (
    ("training loss", "training loss (with weight decay term)", ("train_loss",)),
    ("accuracy: test (solid), training (dashed)", "accuracy", ("test_acc", "train_acc")),
)


def _series(records, key):
    xs = [r["epoch"] for r in records if r.get(key) is not None]
    return xs, [r[key] for r in records if r.get(key) is not None]


def run_series(records: list[dict]) -> list[tuple[str, str, dict]]:
    """(title, y label, {label: per-epoch values}) per panel, keys the run has."""
    panels = []
    for title, ylabel, keys in RUN_PANELS:
        series = {label: [r.get(key) for r in records] for key, label in keys
                  if any(r.get(key) is not None for r in records)}
        panels.append((title, ylabel, series))
    return panels


def run_text(records: list[dict]) -> str:
    """`netc plot --text` of a run folder: the PNG's panels as text grids."""
    from .curves import text_curves
    return "\n\n".join(text_curves(series, title=f"{title} per epoch") for title, _, series in run_series(records))


def plot_run(records: list[dict], out, title="") -> Path:
    """Loss (left) and accuracy (right) per epoch: train, validation (when the
    run has a split) and test."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4), layout="constrained")
    for ax, (panel, ylabel, series) in zip(axes, run_series(records)):
        for label, values in series.items():
            xs = [r["epoch"] for r, v in zip(records, values) if v is not None]
            ax.plot(xs, [v for v in values if v is not None], marker=".", label=label)
        ax.set(xlabel="epoch", ylabel=ylabel, title=panel)
        if panel == "accuracy":
            _fit_accuracy(ax, [v for values in series.values() for v in values if v is not None])
        _finish(ax, records)
    fig.suptitle(title)
    return _save(fig, out)


def plot_comparison(variants: list[dict], out) -> Path:
    """Every variant's training loss (left) and accuracy (right: test solid,
    training dashed in the same colour, so the gap between them shows)."""
    plt = pyplot()
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    many = max((len(v["records"]) for v in variants), default=0) > 30
    mark = None if many else "."
    for v in variants:
        line, = loss_ax.plot(*_series(v["records"], "train_loss"), marker=mark, label=v["label"])
        acc_ax.plot(*_series(v["records"], "test_acc"), marker=mark, color=line.get_color(), label=f"{v['label']} test")
        acc_ax.plot(*_series(v["records"], "train_acc"), linestyle="--", color=line.get_color(),
                    label=f"{v['label']} train")
    losses = [r["train_loss"] for v in variants for r in v["records"] if r.get("train_loss")]
    if losses and min(losses) > 0 and max(losses) / min(losses) > 100:
        loss_ax.set_yscale("log")     # curves two orders apart stay readable
    for ax, (title, ylabel, _) in zip((loss_ax, acc_ax), COMPARE_PANELS):
        ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    _fit_accuracy(acc_ax, [r[key] for v in variants for r in v["records"] for key in ("test_acc", "train_acc")
                           if r.get(key) is not None])
    longest = max(variants, key=lambda v: len(v["records"]))["records"] if variants else []
    for ax in (loss_ax, acc_ax):
        _finish(ax, longest)
    return _save(fig, out)


def _fit_accuracy(ax, values) -> None:
    """The accuracy axis spans the data (a 0.965-0.99 run must not be two flat
    lines at the top of 0-1), with a margin, never below 0 or far above 1."""
    if not values:
        return
    low, high = min(values), max(values)
    margin = max(high - low, 0.01) * 0.1
    ax.set_ylim(max(low - margin, -0.01), min(high + margin, 1.01))


def _finish(ax, records) -> None:
    """Whole-epoch ticks, a grid, and the legend below the axes, where it
    cannot cover a curve."""
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    if len(records) == 1:
        ax.set_xlim(0.5, 1.5)          # one epoch: one tick, not 0.96 .. 1.04
    ax.grid(alpha=0.3)
    handles = ax.get_legend_handles_labels()[0]
    if handles:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=min(len(handles), 3),
                  frameon=False, fontsize="small")


def plot_search(results: list[dict], space: dict, out, title="") -> Path:
    """Validation accuracy against each searched value, one panel per key;
    log-scale axes for log() ranges; failed trials as red x at 0."""
    plt = pyplot()
    keys = list(space)
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 4), squeeze=False)
    best = results[0]["trial"] if results and results[0]["val_acc"] is not None else None
    for ax, key in zip(axes[0], keys):
        choices = space[key]["args"] if space[key]["call"] == "choice" else None
        position = (lambda v: choices.index(v)) if choices and not all(_number(c) for c in choices) else (lambda v: v)
        ok = [r for r in results if r["val_acc"] is not None]
        failed = [r for r in results if r["val_acc"] is None]
        ax.scatter([position(r["values"][key]) for r in ok], [r["val_acc"] for r in ok], s=18, label="trial")
        if failed:
            ax.scatter([position(r["values"][key]) for r in failed], [0] * len(failed), marker="x",
                       color="red", label="diverged")
        for r in ok:
            if r["trial"] == best:
                ax.scatter([position(r["values"][key])], [r["val_acc"]], s=80, facecolors="none",
                           edgecolors="black", label="best")
        if space[key]["call"] == "log":
            ax.set_xscale("log")
        if choices and not all(_number(c) for c in choices):
            ax.set_xticks(range(len(choices)), [str(c) for c in choices])
        ax.set(xlabel=key, ylabel="validation accuracy", ylim=(-0.02, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    fig.suptitle(f"{title}: {len(results)} trials" if title else f"{len(results)} trials")
    return _save(fig, out)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _save(fig, out) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fig.get_layout_engine() is None:     # figures made with layout="constrained" are laid out already
        fig.tight_layout()
    fig.savefig(out, dpi=100)
    import matplotlib.pyplot as plt
    plt.close(fig)
    return out
