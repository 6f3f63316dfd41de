"""The `netc` command line: a thin layer over the Python API. Every verb
lives in a small module here; errors print as diagnostics and exit 1."""
from __future__ import annotations

import sys

import click

from netc import __version__
from netc.errors import NetcError


class NetcGroup(click.Group):
    """Turns any NetcError into a diagnostic on stderr and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NetcError as error:
            click.echo(str(error), err=True)
            ctx.exit(1)


@click.group(cls=NetcGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="netc")
def cli():
    """netc: compile .net model specs and train them with NumPy."""


def _register():
    # Each module imports only click at the top; NumPy loads inside the
    # commands that need it, so `netc check` stays fast.
    from . import bench_cmds, compile_cmds, data_cmds, experiment_cmds, onnx_cmds, run_cmds
    for module in (compile_cmds, run_cmds, data_cmds, experiment_cmds, bench_cmds, onnx_cmds):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv=None):
    from netc.runtime.fast import compile_at_o2, warmup
    from netc.runtime.memory import keep_freed_memory
    keep_freed_memory()   # the program's choices, not the library's: see runtime/memory.py,
    compile_at_o2()       # runtime/fast/__init__.py
    warmup.enable()       # and runtime/fast/warmup.py
    cli.main(args=argv, prog_name="netc")


if __name__ == "__main__":
    main(sys.argv[1:])
