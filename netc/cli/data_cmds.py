"""netc data list / fetch / info: the data sets netc knows and where they are."""
from __future__ import annotations

import json

import click

from .options import EXISTING_FOLDER, data_dir_option, json_option


@click.group()
def data():
    """List, fetch and inspect data sets."""


@data.command("list")
def list_():
    """The data sets netc knows."""
    from netc.runtime.data import list_datasets
    for name, description in list_datasets():
        click.echo(f"{name:<14} {description}")


@data.command()
@click.argument("name")
@click.option("--from", "source", type=EXISTING_FOLDER,
              help="Copy and verify the files from this folder instead of downloading.")
@data_dir_option("Where to put them (default: the cache).")
def fetch(name, source, data_dir):
    """Fetch data set NAME into the cache (or --data-dir), verifying checksums."""
    from netc.runtime.data import fetch as fetch_dataset
    path = fetch_dataset(name, source_dir=source, data_dir=data_dir)
    click.echo(f"{name}: ready in {path}")


@data.command()
@click.argument("name")
@data_dir_option("Folder to look in first (else $NETC_DATA, the cache); nothing is downloaded.")
@json_option()
def info(name, data_dir, as_json):
    """Where data set NAME is, its sizes and whether its files verify."""
    from netc.runtime.data import info as dataset_info
    details = dataset_info(name, data_dir=data_dir)
    if as_json:
        click.echo(json.dumps(details, default=str))
    else:
        for key, value in details.items():
            click.echo(f"{key:<12} {value}")


COMMANDS = [data]
