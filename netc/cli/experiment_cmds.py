"""netc search / compare / plot / activations / filters: the seed's
experiments, each a few lines over netc.experiments."""
from __future__ import annotations

import json

import click

from .options import (EXISTING_FOLDER, FILE, data_dir_option, epochs_option, json_option, out_folder_option,
                      png_option, set_option, vary_option, weights_option)

# compare and activations take a whole directive in short form too (netc.experiments.variants).
def _plot_if_possible(draw, what: str):
    """Draw a figure when matplotlib is there; otherwise say how to get it."""
    from netc.experiments.plots import have_matplotlib
    if have_matplotlib():
        click.echo(f"{what}: {draw()}")
    else:
        click.echo(f"({what} not drawn: pip install 'netc[plot]' for PNG figures)")


@click.command()
@click.argument("file", type=FILE, required=False)
@click.option("--storage", metavar="URL",
              help="Optuna storage the workers share: postgresql://..., mysql://..., sqlite:///... or a "
                   "journal file path (default: a SQLite file in the --out folder).")
@click.option("--study", "study_name", metavar="NAME", help="Study name in the storage (default: the network's name).")
@click.option("--trials", type=click.IntRange(min=1),
              help="Trials in the whole study, shared by every worker (default: the search line's).")
@epochs_option("Epochs per trial (default: the search line's).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes on this machine.")
@click.option("--sampler", type=click.Choice(["random", "tpe"]), default="random", show_default=True,
              help="random: each trial's values from the seed and its number alone; tpe: Optuna's TPE, seeded.")
@click.option("--pruner", type=click.Choice(["none", "median", "hyperband"]), default="none", show_default=True,
              help="Stop trials whose validation accuracy lags after an epoch.")
@click.option("--seed", type=int, help="Draws the trials' values (default: the spec's seed).")
@click.option("--heartbeat", type=click.FloatRange(min=1), default=10, show_default=True, metavar="SECONDS",
              help="A worker beats this often; a trial silent for 3 beats is run again by another worker.")
@click.option("--status", "show_status", is_flag=True, help="Show the study's progress and best trial, then stop.")
@out_folder_option("Search folder; an existing one continues (default runs/NAME-search-DATE-TIME).")
@data_dir_option()
def search(file, storage, study_name, trials, epochs, jobs, sampler, pruner, seed, heartbeat, show_status,
           out, data_dir):
    """Search FILE's `search` ranges on an Optuna study, scored on validation data.

    Run the same command on several machines with one --storage to share the work."""
    from netc.experiments import search as searching
    if show_status:
        if not storage and not out:
            raise click.UsageError("--status needs --storage URL (or --out DIR of a search with the default storage)")
        click.echo(searching.status(storage or searching.default_storage(out), study_name))
        return
    if file is None:
        raise click.UsageError("give a .net FILE to search (or --status to look at a study)")
    import netc
    from netc.experiments import plots
    plan = netc.load(file)
    command = " ".join(["netc search", str(file), "--out DIR"] + [f"{flag} {value}" for flag, value in (
        ("--storage", storage and searching.storages.shown_url(storage)), ("--study", study_name),
        ("--trials", trials), ("--sampler", sampler != "random" and sampler),
        ("--pruner", pruner != "none" and pruner)) if value])
    try:
        result = searching.run_search(plan, searching.search_settings(plan), trials=trials, epochs=epochs,
                                      jobs=jobs, seed=seed, out=out, data_dir=data_dir, storage=storage,
                                      study=study_name, sampler=sampler, pruner=pruner, heartbeat=heartbeat,
                                      echo=click.echo, command=command)
    except searching.SearchInterrupted as stop:
        click.echo(str(stop), err=True)
        raise SystemExit(130)
    click.echo(searching.table(result["results"], result["space"]))
    if result["best_path"]:
        click.echo(f"best configuration: {result['best_path']}")
    folder = result["folder"]
    _plot_if_possible(lambda: plots.plot_folder(folder), "search plot")


@click.command()
@click.argument("files", nargs=-1, required=True, type=FILE)
@vary_option
@set_option()
@epochs_option("Override train.epochs for every variant.")
@click.option("--seed", type=int, help="The one seed every variant uses (default: the first file's).")
@out_folder_option("Folder for the runs (default runs/compare-NAME-DATE-TIME).")
@click.option("--force", is_flag=True, help="Replace the comparison already in the --out folder.")
@data_dir_option()
@json_option("Print the variants' summaries as one JSON line.")
def compare(files, varies, overrides, epochs, seed, out, force, data_dir, as_json):
    """Train FILES x --vary values with the same data and seed; table and curves."""
    from netc.experiments import compare as comparing
    from netc.experiments import plots
    result = comparing.compare(files, varies, sets=overrides, epochs=epochs, seed=seed, out=out,
                               data_dir=data_dir, echo=click.echo, force=force)
    click.echo(comparing.table(result["variants"]))
    click.echo(comparing.text_figures(result["variants"]))
    folder = result["folder"]
    _plot_if_possible(lambda: plots.plot_folder(folder), "loss curves")
    if as_json:
        click.echo(json.dumps([{"label": v["label"], **v["summary"]} for v in result["variants"]]))


@click.command()
@click.argument("folder", type=EXISTING_FOLDER)
@png_option
@click.option("--text", is_flag=True, help="Print plain-text curves instead of writing a PNG.")
def plot(folder, out, text):
    """Figure of a run, compare or search FOLDER (curves, curves together, search scatter)."""
    from netc.experiments import compare as comparing
    from netc.experiments import plots
    if not text:
        click.echo(plots.plot_folder(folder, out))
        return
    kind = plots.folder_kind(folder)
    if kind == "compare":
        click.echo(comparing.text_figures(comparing.load_comparison(folder)))
    elif kind == "run":
        click.echo(plots.run_text(comparing.read_metrics(folder)))
    else:
        from netc.experiments.search import ranked, read_results, table
        settings = json.loads((folder / "search.json").read_text())
        click.echo(table(ranked(read_results(folder)), settings["space"]))


@click.command()
@click.argument("file", type=FILE)
@weights_option(help="Trained weights (checkpoint or run folder); default: the initial draw.")
@vary_option
@set_option()
@click.option("--samples", type=click.IntRange(min=1), default=1000, show_default=True, help="Batch size.")
@png_option
@data_dir_option()
def activations(file, weights, varies, overrides, samples, out, data_dir):
    """Histograms of each hidden layer's activations on a batch (one row per --vary value)."""
    from netc.experiments import activations as acts
    rows = acts.collect(file, varies, overrides, weights=weights, samples=samples, data_dir=data_dir)
    click.echo(acts.summary(rows))
    click.echo(acts.plot(rows, out or file.with_name(f"{file.stem}-activations.png")))


@click.command()
@click.argument("run_dir", type=EXISTING_FOLDER)
@png_option
@click.option("--channel", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which input channel of the filters to draw.")
def filters(run_dir, out, channel):
    """The first conv layer's filters of RUN_DIR, before and after training."""
    from netc.experiments import filters as filt
    weights = filt.first_conv_weights(run_dir)  # rebuilding the network twice would double the work
    moved = filt.change(run_dir, weights)
    click.echo(f"{moved['filters']} filters: mean |W| {moved['mean_abs_before']:.4f} -> "
               f"{moved['mean_abs_after']:.4f} (mean change {moved['mean_abs_change']:.4f})")
    click.echo(filt.plot(run_dir, out, channel=channel, weights=weights))


COMMANDS = [search, compare, plot, activations, filters]
