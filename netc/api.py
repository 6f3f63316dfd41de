"""The public Python API: parse, compile, load and format .net specs."""
from __future__ import annotations

from pathlib import Path

from netc.compiler.format import format_document, format_text
from netc.compiler.pipeline import check_text, compile_document, compile_text, decode, parse_text
from netc.compiler.plan import Plan
from netc.compiler.validate import validate
from netc.errors import NetcError
from netc.files import check_regular


def read_source(path) -> str:
    """A .net file's text; a clear error for a missing or non-text file."""
    path = Path(path)
    if path.exists() and not path.is_dir() and not path.is_file():
        check_regular(path)         # a FIFO or a device: refused, never read
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NetcError("no such file", path=str(path)) from None
    except IsADirectoryError:
        raise NetcError("is a directory, not a .net file", path=str(path)) from None
    except OSError as exc:
        raise NetcError(f"cannot read: {exc.strerror}", path=str(path)) from None
    return decode(raw, str(path))


def parse(text: str) -> dict:
    """.net text -> spec document (a JSON-compatible dict), unvalidated."""
    return parse_text(text).document


def compile(source, kernels: str | None = None) -> Plan:  # noqa: A001 - the verb users expect
    """.net text or a spec document -> Plan (shapes, params, FLOPs, kernels).
    kernels: "auto" (compiled kernels where numba is installed), "numpy", "numba",
    or "reference" (every step on its plain, book-level kernel); default:
    $NETC_KERNELS, else auto."""
    if isinstance(source, Plan):
        return source if kernels is None else compile(source.document, kernels)
    if isinstance(source, dict):
        return compile_document(source, kernels)
    return compile_text(source, kernels=kernels)


def load(path, kernels: str | None = None) -> Plan:
    """Compile a .net file; errors carry its path and line. A relative
    `data ... path=` is relative to the file's folder: it is made absolute
    here, so every later reader (train, search, a resumed run's spec.json)
    finds the same data whatever the working directory."""
    plan = compile_text(read_source(path), str(path), kernels)
    for spec in (plan.document.get("data"), plan.data.get("data")):
        if spec and spec.get("path") is not None:
            spec["path"] = str((Path(path).parent / spec["path"]).resolve())
    return plan


def format(source) -> str:  # noqa: A001
    """Canonical .net text for .net text (comments kept) or a spec document."""
    if isinstance(source, dict):
        return format_document(validate(source))
    return format_text(check_text(source))


def format_file(path) -> tuple[str, str]:
    """(source, canonical text) of a .net file; errors carry its path and line."""
    source = read_source(path)
    try:
        return source, format_text(source)
    except NetcError as error:
        raise error.located(str(path), source)
