"""netc: a declarative model-spec compiler and NumPy runtime for neural networks.

    plan = netc.load("models/simpleconv.net")
    model = plan.build(seed=0)

The compiler (Lark, jsonschema) loads on first use of compile, load, parse,
format or Plan, so `import netc.runtime` alone never pulls it in.
"""
__version__ = "0.1.0"

from netc.errors import (NetcDataError, NetcError, NetcErrors, NetcRuntimeError,  # noqa: F401
                         NetcShapeError, NetcSpecError, NetcSyntaxError)

# name -> the module that defines it, imported when the name is first asked for
_LAZY = {"compile": "netc.api", "format": "netc.api", "load": "netc.api", "parse": "netc.api",
         "Plan": "netc.compiler.plan", "export_onnx": "netc.onnx"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'netc' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def train(source=None, **options):
    """Train a .net file, source text, document or Plan; returns the run's summary."""
    from netc.training import train as _train
    return _train(source, **options)
