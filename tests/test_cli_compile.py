"""netc check / compile / fmt / --version through click's CliRunner."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import netc
from netc.cli import cli

MODELS = Path(__file__).parent.parent / "models"
MESSY = "input   784 # pixels\naffine 10->relu\n\n\n->affine 2 ->   softmax\nseed  3\n"
TIDY = "input 784  # pixels\naffine 10 -> relu\n\n  -> affine 2 -> softmax\nseed 3\n"


@pytest.fixture
def run(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(cli, [str(a) for a in args])


def test_version(run):
    result = run("--version")
    assert result.exit_code == 0
    assert netc.__version__ in result.output


def test_check_table(run, monkeypatch):
    monkeypatch.setenv("NETC_KERNELS", "numpy")  # the NumPy kernels' names
    shutil.copy(MODELS / "simpleconv.net", "simpleconv.net")
    result = run("check", "simpleconv.net")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "simpleconv.net: simpleconv, input 1x28x28, loss cross_entropy"
    assert lines[1].split() == ["#", "layer", "line", "reads", "output", "params", "FLOPs", "kernel"]
    rows = [line.split() for line in lines[3:10]]
    assert [r[1] for r in rows] == ["conv", "relu", "maxpool", "affine", "relu", "affine", "softmax"]
    assert rows[0][:8] == ["0", "conv", "4", "input", "30x24x24", "780", "864,000", "im2col"]
    assert rows[0][9:] == ["images/chunk)"]
    assert rows[1][7:] == ["fused", "into", "the", "next", "step"]
    assert rows[2][7:] == ["reshape,", "then", "relu"]
    assert lines[11].split() == ["total", "10", "433,890", "1,764,700"]


def test_check_shows_what_each_step_reads(run):
    shutil.copy(MODELS / "resnet.net", "resnet.net")
    result = run("check", "resnet.net")
    rows = {r.split()[0]: r.split() for r in result.stdout.splitlines()[3:] if r.split() and r.split()[0].isdigit()}
    assert rows["3"][1:4] == ["maxpool", "->", "stem"]
    assert rows["9"][1] == "add" and rows["9"][3:5] == ["stem,", "r1"]


def test_schema_prints_the_whole_schemas(run):
    import json
    spec = json.loads(run("schema", "spec").stdout)
    assert "layer_conv" in spec["$defs"] and "add" in spec["$defs"]["layer"]["properties"]["type"]["enum"]
    plan = json.loads(run("schema", "plan").stdout)
    assert "concat" in plan["$defs"]["step"]["properties"]["op"]["enum"]


def test_check_quiet_prints_nothing_when_fine(run):
    shutil.copy(MODELS / "mlp.net", "mlp.net")
    result = run("check", "-q", "mlp.net")
    assert (result.exit_code, result.output) == (0, "")


def test_check_missing_file(run):
    result = run("check", "nope.net")
    assert result.exit_code == 1
    assert result.stderr.startswith("nope.net: error: no such file")


def test_compile_to_stdout(run):
    shutil.copy(MODELS / "simpleconv.net", "simpleconv.net")
    result = run("compile", "simpleconv.net")
    assert result.exit_code == 0
    plan = json.loads(result.stdout)
    assert (plan["total_params"], plan["output_shape"], plan["format"]) == (433_890, [10], "netc-plan/1")


def test_compile_to_file(run, tmp_path):
    shutil.copy(MODELS / "twolayer.net", "twolayer.net")
    result = run("compile", "twolayer.net", "-o", "plan.json")
    assert (result.exit_code, result.stdout) == (0, "")
    assert json.loads((tmp_path / "plan.json").read_text()) == netc.load(MODELS / "twolayer.net").data


def test_compile_error_exits_1_without_output_file(run, tmp_path):
    Path("bad.net").write_text("input 784\naffine 0\n")
    result = run("compile", "bad.net", "-o", "plan.json")
    assert result.exit_code == 1
    assert result.stderr.startswith("bad.net:2:8: error:")
    assert not (tmp_path / "plan.json").exists()


def test_fmt_prints_canonical_text(run):
    Path("m.net").write_text(MESSY)
    result = run("fmt", "m.net")
    assert (result.exit_code, result.stdout) == (0, TIDY)
    assert Path("m.net").read_text() == MESSY


def test_fmt_check(run):
    Path("messy.net").write_text(MESSY)
    Path("tidy.net").write_text(TIDY)
    assert run("fmt", "--check", "tidy.net").exit_code == 0
    result = run("fmt", "--check", "tidy.net", "messy.net")
    assert result.exit_code == 1
    assert "would reformat messy.net" in result.stderr
    assert Path("messy.net").read_text() == MESSY


def test_fmt_write(run):
    Path("m.net").write_text(MESSY)
    result = run("fmt", "--write", "m.net")
    assert result.exit_code == 0
    assert Path("m.net").read_text() == TIDY
    assert "reformatted m.net" in result.stderr
    again = run("fmt", "--write", "m.net")
    assert (again.exit_code, again.stderr) == (0, "")


def test_fmt_syntax_error_points_at_the_line(run):
    Path("bad.net").write_text("input 784\naffine 10 ->\n")
    result = run("fmt", "bad.net")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:3] == ["bad.net:2:13: error: unexpected end of line",
                                             "    affine 10 ->", "                ^"]


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.net")), ids=lambda p: p.stem)
def test_models_are_formatted(run, path):
    assert run("fmt", "--check", path).exit_code == 0
