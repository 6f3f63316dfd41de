"""netc bench: training and inference throughput of a .net file's network."""
from __future__ import annotations

import json

import click

from .options import FILE, json_option, kernels_option


@click.command()
@click.argument("file", type=FILE)
@click.option("--batch", type=click.IntRange(min=1), default=100, show_default=True, help="Images per step.")
@click.option("--iters", type=click.IntRange(min=1), default=20, show_default=True, help="Steps per timed round.")
@click.option("--rounds", type=click.IntRange(min=1), default=5, show_default=True,
              help="Timed rounds; the median is reported.")
@click.option("--warmup", type=click.IntRange(min=0), default=5, show_default=True, help="Untimed steps first.")
@click.option("--threads", type=click.IntRange(min=1), help="BLAS threads (needs threadpoolctl); default: as set.")
@click.option("--layers", "per_layer", is_flag=True,
              help="Also time each layer's forward and backward in one lane (where the time goes).")
@kernels_option()
@json_option()
def bench(file, batch, iters, rounds, warmup, threads, per_layer, kernels, as_json):
    """Images/s for training steps and inference on synthetic data, GFLOP/s, peak RSS."""
    import netc
    from netc.bench import format_layers, format_result, layer_times, run
    plan = netc.load(file, kernels).data
    result = run(plan, batch=batch, iters=iters, rounds=rounds, warmup=warmup, threads=threads)
    if per_layer:
        result["layers"] = layer_times(plan, batch=batch, iters=iters, warmup=warmup, threads=threads)
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(format_result(result))
        if per_layer:
            click.echo(format_layers(result["layers"], batch))


COMMANDS = [bench]
