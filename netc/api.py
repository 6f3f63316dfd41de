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


def compile(source) -> Plan:  # noqa: A001 - the verb users expect
    """.net text or a spec document -> Plan (shapes, params, FLOPs, kernels)."""
    if isinstance(source, Plan):
        return source
    if isinstance(source, dict):
        return compile_document(source)
    return compile_text(source)


def load(path) -> Plan:
    """Compile a .net file; errors carry its path and line."""
    return compile_text(read_source(path), str(path))


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
