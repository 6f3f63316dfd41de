"""Every file in tests/invalid/ is one mistake a user makes. Its first line
declares what `netc check` must say: `# expect: LINE:COL key | words`."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from netc.cli import cli

HERE = Path(__file__).parent
CASES = sorted((HERE / "invalid").glob("*.net"))


def expectation(path: Path) -> tuple[int, int, list[str]]:
    header = path.read_bytes().split(b"\n", 1)[0].decode()
    assert header.startswith("# expect: "), f"{path.name} has no '# expect:' header"
    where, _, words = header[len("# expect: "):].partition(" ")
    line, column = map(int, where.split(":"))
    return line, column, [w.strip() for w in words.split("|") if w.strip()]


def source_line(path: Path, line: int) -> str:
    """The line as the diagnostic prints it: one printable character per column."""
    text = path.read_bytes().decode("utf-8", "replace").split("\n")[line - 1].rstrip("\r")
    return "".join(c if c.isprintable() else " " for c in text)


def assert_diagnostic(output: str, path: Path, shown_path: str):
    line, column, words = expectation(path)
    lines = output.splitlines()
    assert "Traceback" not in output
    assert lines[0].startswith(f"{shown_path}:{line}:{column}: error: "), output
    assert lines[1] == "    " + source_line(path, line), output
    assert lines[2] == "    " + " " * (column - 1) + "^", output
    for word in words:
        assert word.lower() in output.lower(), f"{word!r} missing from:\n{output}"


def test_there_are_enough_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_check_reports_the_mistake(path, monkeypatch):
    monkeypatch.chdir(HERE)
    shown = f"invalid/{path.name}"
    result = CliRunner().invoke(cli, ["check", shown])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""                       # diagnostics go to stderr
    assert_diagnostic(result.stderr, path, shown)


@pytest.mark.parametrize("name", ["conv_not_whole", "not_utf8", "dangling_arrow_newline"])
def test_real_process(name):
    """The installed entry point, through `python -m netc`, as a user runs it."""
    path = HERE / "invalid" / f"{name}.net"
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "netc", "check", str(path)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1
    assert done.stdout == ""
    assert_diagnostic(done.stderr, path, str(path))


def test_many_files_one_exit_status(monkeypatch):
    """A bad file among good ones: every file is checked, the status is 1."""
    monkeypatch.chdir(HERE.parent)
    result = CliRunner().invoke(cli, ["check", "models/simpleconv.net", "tests/invalid/lr_zero.net",
                                      "models/mlp.net"])
    assert result.exit_code == 1
    assert "models/simpleconv.net: simpleconv" in result.stdout
    assert "models/mlp.net: mlp" in result.stdout
    assert "tests/invalid/lr_zero.net:4:18: error:" in result.stderr
