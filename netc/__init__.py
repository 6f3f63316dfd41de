"""netc: a declarative model-spec compiler and NumPy runtime for neural networks.

    plan = netc.load("models/simpleconv.net")
    model = plan.build(seed=0)
"""
__version__ = "0.1.0"

from netc.errors import (NetcDataError, NetcError, NetcErrors, NetcRuntimeError,  # noqa: F401
                         NetcShapeError, NetcSpecError, NetcSyntaxError)
from netc.api import compile, format, load, parse  # noqa: F401,A004
from netc.compiler.plan import Plan  # noqa: F401
from netc.onnx import export_onnx  # noqa: F401  (imports onnx only when called)


def train(source=None, **options):
    """Train a .net file, source text, document or Plan; returns the run's summary."""
    from netc.training import train as _train
    return _train(source, **options)
