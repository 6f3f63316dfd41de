"""ONNX export and import: netc plans and weights to ONNX models and back.
Needs the optional `onnx` extra; netc itself imports without it."""
from __future__ import annotations

from netc.errors import NetcError

OPSETS = range(13, 22)   # the opsets export writes
DEFAULT_OPSET = 17
INSTALL_HINT = "pip install 'netc[onnx]' (onnx and onnxruntime)"


def require_onnx():
    """The onnx module, or a NetcError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise NetcError("ONNX export and import need the onnx package", hint=INSTALL_HINT) from None
    return onnx


def export_onnx(plan, network_or_weights, path=None, opset: int = DEFAULT_OPSET):
    """Write `plan` with its weights (a Network, a Model, a dict by netc name, a
    weights file, or None for the plan's own) as an ONNX model at `path`; returns the ModelProto."""
    from .export import export_onnx as _export
    return _export(plan, network_or_weights, path, opset)


def import_onnx(model_or_path, name: str | None = None):
    """An ONNX model (path or ModelProto) -> Imported(document, text, plan, arrays)."""
    from .importer import import_onnx as _import
    return _import(model_or_path, name)
