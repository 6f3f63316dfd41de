"""The compiler, stage by stage: text -> statements -> spec document ->
validated spec -> plan. Each stage stops the pipeline once it finds errors."""
from __future__ import annotations

from pathlib import Path

from netc.errors import NetcError, NetcSpecError, raise_if_any

from .lower import Lowered, lower
from .plan import Plan
from .planner import build_plan
from .syntax import parse_statements
from .validate import validate


def _locator(lowered: Lowered | None, document: dict):
    """JSON path -> (line, column): from the source map, else the layer's own."""
    def locate(path):
        pos = lowered.position(path) if lowered else None
        if pos:
            return pos.line, pos.column
        if len(path) >= 2 and path[0] == "layers" and isinstance(path[1], int):
            layer = document["layers"][path[1]]
            return layer.get("line"), layer.get("column")
        return None, None
    return locate


def decode(raw: bytes, path: str | None = None) -> str:
    """UTF-8 bytes -> text; anything else is not a .net file (say where it breaks)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line_end = raw.find(b"\n", exc.start)
        source_line = raw[line_start:None if line_end < 0 else line_end].decode("utf-8", "replace")
        raise NetcSpecError("this is not a text file (not UTF-8)", path=path,
                            line=raw.count(b"\n", 0, exc.start) + 1, column=exc.start - line_start + 1,
                            source_line=source_line.rstrip("\r"),
                            hint="a .net file is plain UTF-8 text") from None


def check_text(text) -> str:
    """The text a compiler stage can take: str, or UTF-8 bytes, without NUL bytes."""
    if isinstance(text, (bytes, bytearray)):
        text = decode(bytes(text))
    if not isinstance(text, str):
        raise NetcSpecError(f"expected .net text, a spec document or a Plan, not {type(text).__name__}")
    if "\x00" in text:
        at = text.index("\x00")
        line_start = text.rfind("\n", 0, at) + 1
        raise NetcSpecError("this is not a text file (it holds a NUL byte)",
                            line=text.count("\n", 0, at) + 1, column=at - line_start + 1,
                            hint="a .net file is plain UTF-8 text")
    return text


def lower_text(text: str, name: str = "network") -> Lowered:
    """Text -> spec document and source map; lowering errors are collected, not raised."""
    return lower(parse_statements(check_text(text)), default_name=name)


def parse_text(text, name: str = "network") -> Lowered:
    """Text -> spec document and source map (no schema or shape checks yet)."""
    lowered = lower_text(text, name)
    raise_if_any(lowered.errors)
    return lowered


def compile_text(text, path: str | None = None, kernels: str | None = None) -> Plan:
    name = Path(path).stem if path else "network"
    try:
        text = check_text(text)
        lowered = lower_text(text, name)
        document = validate(lowered.document, lowered)
        plan = build_plan(document, _locator(lowered, document), kernels)
    except NetcError as error:
        raise error.located(path, text if isinstance(text, str) else None)
    return Plan(plan, document=document, source=path)


def compile_document(document: dict, kernels: str | None = None) -> Plan:
    validate(document)
    return Plan(build_plan(document, _locator(None, document), kernels), document=document)
