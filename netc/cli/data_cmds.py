"""netc data list / fetch / info: the data sets netc knows and where they are."""
from __future__ import annotations

import json

import click

from .options import EXISTING_FOLDER, data_dir_option, json_option


@click.group()
def data():
    """List, fetch and inspect data sets."""


@data.command("list")
@data_dir_option("Folder to look in first (else $NETC_DATA, the cache); nothing is downloaded.")
def list_(data_dir):
    """The data sets netc knows, where each one is and whether it is there."""
    from netc.runtime.data import list_datasets, where
    for name, description in list_datasets():
        _, place = where(name, data_dir)
        click.echo(f"{name:<14} {description}\n{'':<14} {place}")


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
        click.echo(info_text(details))


VERIFIED = {True: "yes, every file's SHA-256 matches", False: "NO: see the files below",
            None: "sizes and shapes checked; no checksum is known"}


def info_text(details: dict) -> str:
    """`netc data info` for people: labelled lines, numbers with separators."""
    lines = [f"{details['name']}: {details['description']}"]
    if not details["found"]:
        lines += ["  not found; looked in:"] + [f"    {place}" for place in details.get("tried", [])]
        lines.append(f"  get it with: netc data fetch {details['name']}")
        return "\n".join(lines)
    shape = "x".join(map(str, details["sample_shape"]))
    lines += [f"  location   {details['location']}",
              f"  verified   {VERIFIED[details['verified']]}",
              f"  samples    {details['train']:,} train, {details['test']:,} test; "
              f"each {shape} {details['input_dtype']}, targets {details['target_dtype']}"]
    files = details.get("files", [])
    if files:
        lines.append("  files")
        width = max(len(f["file"]) for f in files)
        for f in files:
            state = {True: "sha256 ok", False: "BAD", None: "no checksum known"}[f["verified"]]
            shape = "x".join(map(str, f.get("shape", []))) or "?"
            lines.append(f"    {f['file']:<{width}}  {f['bytes']:>11,} bytes  {shape:>11}  {state}"
                         + (f": {f['error']}" if "error" in f else ""))
    return "\n".join(lines)


COMMANDS = [data]
