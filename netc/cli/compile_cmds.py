"""netc check / compile / fmt: the compiler's verbs."""
from __future__ import annotations

import click

import netc
from netc.api import format_file
from netc.files import write_text_atomically
from netc.errors import NetcError

from .options import FILE, kernels_option


def _shape(shape) -> str:
    return "x".join(map(str, shape))


def _kernel(step, steps) -> str:
    """The chosen kernel, how many images one conv chunk holds, what a step fuses."""
    text = step["kernel"]
    if step["kernel"] == "fused":
        before = steps[step["inputs"][0]] if step["inputs"][0] >= 0 else {}
        return "fused into the step before" if before.get("activation") else "fused into the next step"
    if step.get("chunk"):
        text += f" ({step['chunk']} images/chunk)"
    if step.get("activation"):
        text += f", then {step['activation']}"
    return text


def _reads(step, steps) -> str:
    """What a step reads: `input`, a step number, or a tensor's name."""
    return ", ".join("input" if i < 0 else steps[i].get("name") or str(i) for i in step["inputs"])


def summary_table(plan) -> str:
    """One row per step: what it is and reads, its output, parameters, FLOPs, kernel."""
    rows = [("#", "layer", "line", "reads", "output", "params", "FLOPs", "kernel")]
    for step in plan.layers:
        op = step["op"] + (f" -> {step['name']}" if step.get("name") else "")
        rows.append((str(step["index"]), op, str(step["line"] or ""), _reads(step, plan.layers),
                     _shape(step["output_shape"]), f"{step['params']:,}", f"{step['flops']:,}", _kernel(step, plan.layers)))
    rows.append(("", "total", "", "", _shape(plan.output_shape), f"{plan.total_params:,}",
                 f"{plan.total_flops:,}", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {0, 5, 6}
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
@kernels_option()
def check(files, quiet, kernels):
    """Compile FILES and print each network's shapes, parameters and FLOPs."""
    failed = False
    for path in files:
        try:
            plan = netc.load(path, kernels)
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
@kernels_option()
def compile_(file, output, kernels):
    """Compile FILE to its execution plan (JSON)."""
    text = netc.load(file, kernels).to_json()
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


@click.command()
@click.argument("which", type=click.Choice(["spec", "plan"]))
def schema(which):
    """Print the JSON Schema of a spec document or of a plan, whole."""
    import json
    from netc.spec.schemas import load
    click.echo(json.dumps(load("netc.schema.json" if which == "spec" else "plan.schema.json"), indent=2))


COMMANDS = [check, compile_, fmt, schema]
