"""`netc fmt`: canonical layout, comments kept, idempotent."""
from __future__ import annotations

from pathlib import Path

import pytest

import netc

MODELS = sorted((Path(__file__).parent.parent / "models").glob("*.net"))

CASES = [
    # spacing: one space between parts, ' -> ' between layers
    ("input   784\naffine 10->relu   ->  softmax\n", "input 784\naffine 10 -> relu -> softmax\n"),
    # continuation lines: two spaces, then '-> '
    ("input 784\naffine 10\n->relu\n\t\t-> softmax\n", "input 784\naffine 10\n  -> relu\n  -> softmax\n"),
    # comments kept, trailing ones two spaces after the code; comment lines in a chain indented
    ("input 784 # pixels\naffine 10\n# why\n-> softmax\n", "input 784  # pixels\naffine 10\n  # why\n  -> softmax\n"),
    # blank runs collapse to one; none at the start or end
    ("\n\n# top\n\n\n\ninput 784\n\n\naffine 10\n\n\n", "# top\n\ninput 784\n\naffine 10\n"),
    # CRLF in, LF out; a missing final newline is added
    ("input 784\r\naffine 10 -> softmax", "input 784\naffine 10 -> softmax\n"),
    # numbers in their shortest spelling; booleans and strings as written
    ("input 784\naffine 10\noptimizer adam lr=1E-3 eps=0.0000001 beta1=.9\ntrain shuffle=false epochs=007\n"
     'data npz path="a b.npz"\n',
     "input 784\naffine 10\noptimizer adam lr=0.001 eps=1e-7 beta1=0.9\ntrain shuffle=false epochs=7\n"
     'data npz path="a b.npz"\n'),
    # lists: ', ' between items
    ("input 2\naffine 1 weights=[[1,2] ,[ 3,4 ]]\n", "input 2\naffine 1 weights=[[1, 2], [3, 4]]\n"),
    ("", ""),
    ("# only a comment", "# only a comment\n"),
]


@pytest.mark.parametrize("source, expected", CASES, ids=range(len(CASES)))
def test_layout(source, expected):
    assert netc.format(source) == expected
    assert netc.format(expected) == expected


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_models_are_canonical(path):
    source = path.read_text()
    assert netc.format(source) == source


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_documents_format_to_the_same_network(path):
    document = netc.parse(path.read_text())
    again = netc.parse(netc.format(document))
    strip = lambda d: [{k: v for k, v in l.items() if k not in ("line", "column")} for l in d["layers"]]
    assert strip(again) == strip(document)
    assert {k: v for k, v in again.items() if k != "layers"} == {k: v for k, v in document.items() if k != "layers"}


def test_long_chains_wrap_at_88_columns():
    document = netc.parse((Path(__file__).parent.parent / "models" / "deepconv.net").read_text())
    text = netc.format(document)
    assert max(map(len, text.splitlines())) <= 88
    assert all(line.startswith("  -> ") for line in text.splitlines()[3:6])


def test_an_arrow_inside_a_comment_is_only_a_comment():
    source = "input 784\naffine 10 -> relu\n# then -> softmax\nseed 1\n"
    assert netc.parse(source)["seed"] == 1
    assert netc.format(source) == source


def test_unusual_line_separators_stay_inside_their_line():
    """Only \\n ends a line: \\f or \\u2028 in a comment or string do not."""
    source = 'network "a\u2028b"\ninput 784  # x\x0cy\naffine 10\n'
    assert netc.format(source) == source
    assert netc.parse(source)["name"] == "a\u2028b"


def test_format_rejects_an_invalid_document():
    with pytest.raises(netc.NetcSpecError):
        netc.format({"input": [784], "layers": [{"type": "affine"}]})


def test_format_needs_only_valid_syntax():
    """fmt tidies a file with semantic mistakes; check reports them."""
    assert netc.format("input 784\naffine   0\n") == "input 784\naffine 0\n"
