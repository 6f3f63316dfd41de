"""netc check / compile / fmt: the compiler's verbs."""
from __future__ import annotations

import click

import netc
from netc.api import format_file
from netc.files import write_text_atomically
from netc.errors import NetcError

from .options import FILE


def _shape(shape) -> str:
    return "x".join(map(str, shape))


def _kernel(step) -> str:
    """The chosen kernel, how many images one conv chunk holds, what a pool fuses."""
    if step.get("chunk"):
        return f"{step['kernel']} ({step['chunk']} images/chunk)"
    if step["kernel"] == "fused":
        return "fused into the next step"
    if step.get("activation"):
        return f"{step['kernel']}, then {step['activation']}"
    return step["kernel"]


def summary_table(plan) -> str:
    """One row per step: what it is, its output, parameters, FLOPs, kernel."""
    rows = [("#", "layer", "line", "output", "params", "FLOPs", "kernel")]
    for step in plan.layers:
        rows.append((str(step["index"]), step["op"], str(step["line"] or ""), _shape(step["output_shape"]),
                     f"{step['params']:,}", f"{step['flops']:,}", _kernel(step)))
    rows.append(("", "total", "", _shape(plan.output_shape), f"{plan.total_params:,}",
                 f"{plan.total_flops:,}", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {0, 4, 5}
    lines = []
    for n, row in enumerate(rows):
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if n == 0 or n == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


@click.command()
@click.argument("files", nargs=-1, required=True, type=FILE)
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
def check(files, quiet):
    """Compile FILES and print each network's shapes, parameters and FLOPs."""
    failed = False
    for path in files:
        try:
            plan = netc.load(path)
        except NetcError as error:
            click.echo(str(error), err=True)
            failed = True
            continue
        if not quiet:
            click.echo(f"{path}: {plan.name}, input {_shape(plan.input_shape)}, loss {plan.loss or 'none'}")
            click.echo(summary_table(plan))
            click.echo()
    if failed:
        raise SystemExit(1)


@click.command("compile")
@click.argument("file", type=FILE)
@click.option("-o", "--output", type=FILE, help="Write the plan JSON here instead of stdout.")
def compile_(file, output):
    """Compile FILE to its execution plan (JSON)."""
    text = netc.load(file).to_json()
    if output:
        write_text_atomically(output, text + "\n")
    else:
        click.echo(text)


@click.command()
@click.argument("files", nargs=-1, required=True, type=FILE)
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if any file would change; write nothing.")
@click.option("--write", is_flag=True, help="Rewrite the files in place.")
def fmt(files, check_only, write):
    """Print FILES in canonical layout (comments kept)."""
    changed = failed = False
    for path in files:
        try:
            source, formatted = format_file(path)
        except NetcError as error:
            click.echo(str(error), err=True)
            failed = True
            continue
        if check_only:
            if formatted != source:
                click.echo(f"would reformat {path}", err=True)
                changed = True
        elif write:
            if formatted != source:
                try:
                    write_text_atomically(path, formatted)
                except NetcError as error:
                    click.echo(str(error), err=True)
                    failed = True
                    continue
                click.echo(f"reformatted {path}", err=True)
        else:
            click.echo(formatted, nl=False)
    if failed or changed:
        raise SystemExit(1)


COMMANDS = [check, compile_, fmt]
