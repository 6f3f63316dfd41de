"""Arguments and options that more than one netc command takes, each written
once: the flag, its type and its usual help. A command whose use differs says
so through `help=`; an option only one command takes stays with that command."""
from __future__ import annotations

from pathlib import Path

import click

FILE = click.Path(dir_okay=False, path_type=Path)  # no exists=True: a missing .net file gets netc's diagnostic
FOLDER = click.Path(file_okay=False, path_type=Path)  # one to write, or to look in if it is there
EXISTING_FOLDER = click.Path(exists=True, file_okay=False, path_type=Path)


def data_dir_option(help="Folder holding the data set files (else $NETC_DATA, the cache, a download)."):
    return click.option("--data-dir", type=FOLDER, help=help)


def json_option(help="Print one JSON object as the last line."):
    return click.option("--json", "as_json", is_flag=True, help=help)


def weights_option(required=False, help="A netc checkpoint, a run folder, or a seed-style W1/b1 .npz file."):
    return click.option("--weights", "-w", type=click.Path(exists=True, path_type=Path), required=required,
                        help=help)


def epochs_option(help="Override train.epochs."):
    return click.option("--epochs", type=click.IntRange(min=1), help=help)


def out_folder_option(help):
    """--out: where a command writes its folder; each command names its own default."""
    return click.option("--out", type=FOLDER, help=help)


def set_option(help="Override a spec value by dotted path, e.g. optimizer.lr=0.01, or a "
                     "directive in short, e.g. init=std:0.01 (repeatable)."):
    return click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=help)


vary_option = click.option("--vary", "varies", multiple=True, metavar="KEY=V1,V2,...",
                           help="One variant per value, e.g. optimizer.type=sgd,adam or init=std:0.01,xavier,he.")
png_option = click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path),
                          help="The PNG to write (default: inside the folder).")


def kernels_option():
    return click.option("--kernels", type=click.Choice(["auto", "numpy", "numba", "reference"]),
                        help="Kernel set: auto (compiled where numba is installed; the default, or "
                             "$NETC_KERNELS), numpy, numba, or reference (each op's plain, book-level kernel).")
