"""The public Python API: parse, compile, load and format .net specs."""
from __future__ import annotations

from pathlib import Path

from netc.compiler.format import format_document, format_text
from netc.compiler.pipeline import compile_document, compile_text, parse_text
from netc.compiler.plan import Plan
from netc.errors import NetcError


def read_source(path) -> str:
    """A .net file's text; a clear error for a missing or non-text file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NetcError("no such file", path=str(path)) from None
    except IsADirectoryError:
        raise NetcError("is a directory, not a .net file", path=str(path)) from None
    except OSError as exc:
        raise NetcError(f"cannot read: {exc.strerror}", path=str(path)) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise NetcError("this is not a text file (not UTF-8)", path=str(path), line=line,
                        hint="a .net file is plain UTF-8 text") from None


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
        return format_document(source)
    return format_text(source)
