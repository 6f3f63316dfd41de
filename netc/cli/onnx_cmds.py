"""netc export / import: a network out to ONNX, an ONNX model in as a .net file."""
from __future__ import annotations

from pathlib import Path

import click

from .options import FILE, weights_option

OUT_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command("export")
@click.argument("file", type=FILE)
@weights_option(help="A netc checkpoint, a run folder, or a W1/b1 .npz (default: the weights the file "
                     "gives, else the seed's initialisation).")
@click.option("-o", "--output", "out", type=OUT_FILE, help="The .onnx file to write (default: FILE with .onnx).")
@click.option("--opset", type=int, default=17, show_default=True, help="ONNX opset to write (13-21).")
def export(file, weights, out, opset):
    """Write FILE's network with --weights as an ONNX model."""
    from netc.onnx import export_onnx
    from netc.training import resolve_plan
    plan = resolve_plan(file)
    out = out or file.with_suffix(".onnx")
    model = export_onnx(plan, weights, out, opset)
    click.echo(f"wrote {out}: network {plan.name}, {len(model.graph.node)} ONNX nodes, "
               f"{plan.total_params:,} parameters, opset {opset}")


@click.command("import")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "out", type=OUT_FILE, help="The .net file to write (default: MODEL with .net).")
@click.option("--weights-out", type=OUT_FILE,
              help="The weights to write, a netc checkpoint (default: the .net file with .npz).")
def import_(model, out, weights_out):
    """Turn an ONNX MODEL into a .net file and a weights file for --weights."""
    from netc.onnx import import_onnx
    from netc.onnx.importer import save_imported
    imported = import_onnx(model)
    out = out or model.with_suffix(".net")
    weights_out = weights_out or out.with_suffix(".npz")
    save_imported(imported, out, weights_out, source=str(model))
    plan = imported.plan
    click.echo(f"wrote {out} and {weights_out}: network {plan.name}, {len(plan.layers)} layers, "
               f"{plan.total_params:,} parameters")


COMMANDS = [export, import_]
