"""docs/tutorial.md: its commands name files that exist and write only under
runs/, never over the figures kept in docs/figures/."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "docs" / "tutorial.md").read_text()
COMMANDS = [line.strip() for line in TEXT.splitlines() if line.startswith("    netc ")]


def test_every_command_writes_under_runs():
    outputs = [m.group(1) for c in COMMANDS for m in re.finditer(r"(?:-o|--out) (\S+)", c)]
    assert len(outputs) >= 12
    assert all(out.startswith("runs/") for out in outputs), outputs


def test_every_model_and_figure_named_exists():
    models = {m for c in COMMANDS for m in re.findall(r"models/\S+\.net", c)}
    assert models and all((ROOT / m).is_file() for m in models)
    figures = re.findall(r"\]\((figures/\S+\.png)\)", TEXT)
    assert figures and all((ROOT / "docs" / f).is_file() for f in figures)
    # each figure shown is one a printed command writes
    written = {Path(m).name for c in COMMANDS for m in re.findall(r"-o (\S+\.png)", c)}
    assert {Path(f).name for f in figures} <= written
