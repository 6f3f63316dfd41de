"""netc bench: training and inference throughput of a .net file's network."""
from __future__ import annotations

import json

import click

from .options import FILE, json_option


@click.command()
@click.argument("file", type=FILE)
@click.option("--batch", type=click.IntRange(min=1), default=100, show_default=True, help="Images per step.")
@click.option("--iters", type=click.IntRange(min=1), default=20, show_default=True, help="Steps per timed round.")
@click.option("--rounds", type=click.IntRange(min=1), default=5, show_default=True,
              help="Timed rounds; the median is reported.")
@click.option("--warmup", type=click.IntRange(min=0), default=5, show_default=True, help="Untimed steps first.")
@click.option("--threads", type=click.IntRange(min=1), help="BLAS threads (needs threadpoolctl); default: as set.")
@json_option()
def bench(file, batch, iters, rounds, warmup, threads, as_json):
    """Images/s for training steps and inference on synthetic data, GFLOP/s, peak RSS."""
    import netc
    from netc.bench import format_result, run
    result = run(netc.load(file).data, batch=batch, iters=iters, rounds=rounds,
                 warmup=warmup, threads=threads)
    click.echo(json.dumps(result) if as_json else format_result(result))


COMMANDS = [bench]
