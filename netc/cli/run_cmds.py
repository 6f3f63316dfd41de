"""netc train / eval / run / predict / gradcheck: the runtime's verbs."""
from __future__ import annotations

import json
import math
from pathlib import Path

import click

from .options import (EXISTING_FOLDER, FILE, data_dir_option, epochs_option, json_option, kernels_option,
                      out_folder_option, set_option, weights_option)

INTERRUPTED = 130           # the exit status of a run stopped by Ctrl-C or SIGTERM (README: exit codes)


@click.command()
@click.argument("file", type=FILE, required=False)
@epochs_option()
@set_option()
@out_folder_option("Run folder (default runs/NAME-DATE-TIME).")
@weights_option()
@click.option("--force", is_flag=True, help="Replace the run already in the --out folder.")
@click.option("--resume", type=EXISTING_FOLDER,
              help="Continue the run in this folder from its last checkpoint (FILE, if given, must be its spec).")
@data_dir_option()
@json_option()
@click.option("-q", "--quiet", is_flag=True, help="No per-epoch lines or progress bar.")
@kernels_option()
def train(file, epochs, overrides, out, force, weights, resume, data_dir, as_json, quiet, kernels):
    """Train FILE (or --resume RUN_DIR) and save the run folder.

    Ctrl-C or SIGTERM saves a checkpoint at the next step and exits 130."""
    from netc.reporting import plural
    from netc.training import TrainingInterrupted, train as run_training
    if file is None and resume is None:
        raise click.UsageError("give a .net FILE, or --resume RUN_DIR")
    if resume and (out or force or weights):
        raise click.UsageError("--resume continues a run in its own folder: no --out, --force or --weights")
    try:
        summary = run_training(file, epochs=epochs, overrides=overrides, out=out, weights=weights,
                               resume=resume, data_dir=data_dir, quiet=quiet, force=force, kernels=kernels)
    except TrainingInterrupted as stop:
        click.echo(str(stop), err=True)
        raise SystemExit(INTERRUPTED)
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"test accuracy {summary['test_acc']:.4f} after {plural(summary['epochs'], 'epoch')}, "
                   f"{summary['images_per_s'] or 0:,.0f} images/s; saved in {summary['run_dir']}")


@click.command("eval")
@click.argument("file", type=FILE)
@weights_option(required=True)
@data_dir_option()
@kernels_option()
@json_option()
def eval_(file, weights, data_dir, kernels, as_json):
    """Loss and accuracy of FILE's network with --weights on the whole test set."""
    from netc.training import evaluate_file
    result = evaluate_file(file, weights, data_dir, kernels)
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"test loss {result['loss']:.4f}  accuracy {result['accuracy']:.4f}  ({result['count']:,} samples)")


def _parse_input(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.replace(" ", ",").split(",") if v]
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected numbers separated by commas, e.g. 1.0,0.5") from None
    if not all(math.isfinite(v) for v in values):
        raise click.BadParameter(f"{text!r}: NaN and infinite values are not inputs")
    return values


class FiniteFloat(click.ParamType):
    """A float that is a number: nan and inf refused."""
    name = "number"

    def convert(self, value, param, ctx):
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


@click.command()
@click.argument("file", type=FILE)
@click.option("--input", "-i", "inputs", multiple=True, required=True,
              help="One sample's values, comma separated (repeatable).")
@weights_option()
@kernels_option()
@json_option()
def run(file, inputs, weights, kernels, as_json):
    """One forward pass of FILE's network on --input values."""
    from netc.inference import run_values
    samples = [_parse_input(text) for text in inputs]
    outputs = run_values(file, samples, weights, kernels)
    if as_json:
        click.echo(json.dumps({"inputs": samples, "outputs": outputs}))
    else:
        for out in outputs:
            click.echo(" ".join(f"{v:.8f}" for v in out))


@click.command()
@click.argument("file", type=FILE)
@weights_option(required=True)
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option("Print one JSON list, an object per image.")
def predict(file, weights, images, as_json):
    """Class and probabilities for IMAGES (.npy arrays, a batch .npy of
    several, PGM, PNG, JPEG ...). A file that cannot be read is reported and
    the others still predicted; the exit status is then 1."""
    from netc.inference import predict_files
    results = predict_files(file, weights, images)
    for r in results:
        if "error" in r:
            click.echo(r["error"], err=True)
    if as_json:
        click.echo(json.dumps(results))
    else:
        for r in results:
            if "error" not in r:
                top = sorted(enumerate(r["probabilities"]), key=lambda p: -p[1])[:3]
                click.echo(f"{r['file']}: class {r['class']}  ("
                           + ", ".join(f"{c}: {p:.3f}" for c, p in top) + ")")
    if any("error" in r for r in results):
        raise SystemExit(1)


@click.command()
@click.argument("file", type=FILE)
@click.option("--tol", type=FiniteFloat(), default=1e-4, show_default=True, help="Largest relative error that passes.")
@click.option("--batch", type=click.IntRange(min=1), default=3, show_default=True, help="Samples in the check batch.")
@kernels_option()
@json_option()
def gradcheck(file, tol, batch, kernels, as_json):
    """Compare backprop with central differences (float64) for every parameter."""
    from netc.inference import check_gradients
    worst = check_gradients(file, batch=batch, kernels=kernels)
    failed = {k: v for k, v in worst.items() if v > tol}
    if as_json:
        click.echo(json.dumps({"tolerance": tol, "worst": worst, "passed": not failed}))
    else:
        width = max(map(len, worst), default=10)
        for name, error in worst.items():
            click.echo(f"{name:<{width}}  {error:.2e}  {'FAIL' if error > tol else 'ok'}")
        click.echo(f"{'passed' if not failed else 'FAILED'}: worst relative error "
                   f"{max(worst.values(), default=0):.2e} (tolerance {tol:g})")
    if failed:
        raise SystemExit(1)


COMMANDS = [train, eval_, run, predict, gradcheck]
