"""netc: a declarative model-spec compiler and NumPy runtime for neural networks.

    plan = netc.load("models/simpleconv.net")
    model = plan.build(seed=0)
"""
__version__ = "0.1.0"

from netc.errors import (NetcDataError, NetcError, NetcErrors, NetcRuntimeError,  # noqa: F401
                         NetcShapeError, NetcSpecError, NetcSyntaxError)
from netc.api import compile, format, load, parse  # noqa: F401,A004
from netc.compiler.plan import Plan  # noqa: F401


def train(source=None, **options):
    """Train a .net file, source text, document or Plan; returns the run's summary."""
    from netc.training import train as _train
    return _train(source, **options)


def export_onnx(plan, network_or_weights, path=None, opset: int = 17):
    """Write a plan with its weights (Network, Model, dict, weights file, or None:
    the plan's own) as an ONNX model; returns the onnx.ModelProto. Needs `pip install 'netc[onnx]'`."""
    from netc.onnx import export_onnx as _export
    return _export(plan, network_or_weights, path, opset)
