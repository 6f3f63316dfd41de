"""The compiler, stage by stage: text -> statements -> spec document ->
validated spec -> plan. Each stage stops the pipeline once it finds errors."""
from __future__ import annotations

from pathlib import Path

from netc.errors import NetcError, NetcSpecError

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


def check_text(text) -> None:
    if isinstance(text, bytes) or "\x00" in text:
        raise NetcSpecError("this is not a text file", line=1, column=1,
                            hint="a .net file is UTF-8 text")


def parse_text(text: str, name: str = "network") -> Lowered:
    """Text -> spec document and source map (no schema or shape checks yet)."""
    check_text(text)
    lowered = lower(parse_statements(text), default_name=name)
    if lowered.document["input"] is None and not any(e for e in ()):
        first_line = next((i + 1 for i, l in enumerate(text.splitlines())
                           if l.strip() and not l.lstrip().startswith("#")), None)
        if first_line is None:
            raise NetcSpecError("the file is empty", line=1, column=1,
                                hint="start with 'input 1x28x28' (or 'input 784') and a chain of layers")
        raise NetcSpecError("no 'input' directive", line=first_line, column=1,
                            hint="add a line such as 'input 1x28x28' or 'input 784'")
    return lowered


def compile_text(text: str, path: str | None = None) -> Plan:
    name = Path(path).stem if path else "network"
    try:
        lowered = parse_text(text, name)
        document = validate(lowered.document, lowered)
        plan = build_plan(document, _locator(lowered, document))
    except NetcError as error:
        raise error.located(path, text)
    return Plan(plan, document=document, source=path)


def compile_document(document: dict) -> Plan:
    validate(document)
    return Plan(build_plan(document, _locator(None, document)), document=document)
