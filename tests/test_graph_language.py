"""The graph syntax: names defined once, before use, and read; errors at joins;
fmt and the spec document round trip."""
from __future__ import annotations

import pytest

import netc

HEAD = "input 1x8x8\n"


@pytest.mark.parametrize("body, line, column, message", [
    ("x = conv 2x3x3 pad=1\ny = input -> conv 2x3x3 pad=1\ny -> affine 2 -> softmax\n",
     1, 1, "'x' is defined but never read"),
    ("y = x -> relu\nx = conv 2x3x3\ny -> affine 2 -> softmax\n", 1, 5, "'x' is read before it is defined (line 3)"),
    ("x = conv 2x3x3\nx = relu\nx -> affine 2 -> softmax\n", 2, 1, "'x' is defined twice (first on line 2)"),
    ("relu = conv 2x3x3\nrelu -> affine 2 -> softmax\n", 1, 1, "'relu' is an op"),
    ("seed = conv 2x3x3\nseed -> affine 2 -> softmax\n", 1, 1, "'seed' is a directive"),
    ("input = conv 2x3x3\naffine 2 -> softmax\n", 1, 1, "'input' names the network's input"),
    ("xs = conv 2x3x3\nx -> affine 2 -> softmax\n", 2, 1, "unknown layer, directive or tensor 'x'"),
    ("x = conv 2x3x3\nrelu -> x\n", 2, 9, "'x' is a tensor: a chain reads a tensor only at its start"),
    ("x = conv 2x3x3\nrelu -> add x x -> softmax\n", 2, 9, "'add' names its inputs, so it must start a chain"),
    ("x = conv 2x3x3\nadd x -> affine 2 -> softmax\n", 2, 1, "'add' needs at least two tensors"),
    ("conv 2x3x3\nx = input -> conv 2x3x3\nx -> affine 2 -> softmax\n", 1, 1,
     "the output of 'conv' (line 2) is never read"),
    ("x = conv 2x3x3\ny = x\ny -> affine 2 -> softmax\n", 2, 5, "'y = x' names no new layer"),
    ("x = conv 2x3x3 pad=1\ny = x -> conv 4x2x2 stride=2\nadd x y -> affine 2 -> softmax\n", 3, 1,
     "add: x is 2x8x8 (line 2) but y is 4x4x4 (line 3)"),
    ("x = conv 2x3x3 pad=1\ny = input -> affine 4\nconcat x y -> affine 2 -> softmax\n", 3, 1,
     "concat: x is 2x8x8 (line 2) but y is 4 (line 3)"),
    ("x = conv 2x3x3 pad=1 -> softmax\nx -> affine 2\n", 1, 25, "'softmax' is an output layer and must come last"),
])
def test_graph_errors_point_at_their_line(body, line, column, message):
    with pytest.raises(netc.NetcError) as caught:
        netc.compile(HEAD + body)
    errors = getattr(caught.value, "errors", [caught.value])
    found = [(e.line - 1, e.column, e.message) for e in errors]
    assert any((l, c) == (line, column) and message in m for l, c, m in found), found


def test_add_hint_says_how_to_project():
    with pytest.raises(netc.NetcError) as caught:
        netc.compile(HEAD + "x = conv 2x3x3 pad=1\ny = x -> conv 4x2x2 stride=2\nadd x y -> affine 2 -> softmax\n")
    assert "project x with a 1x1 conv: 'x -> conv 4x1x1 stride=2'" in caught.value.hint


def test_did_you_mean_a_tensor():
    with pytest.raises(netc.NetcError) as caught:
        netc.compile(HEAD + "block = conv 2x3x3\nblok -> affine 2 -> softmax\n")
    assert "did you mean 'block'?" in caught.value.hint


GRAPH = """network g
input 1x8x8
x = conv 4x3x3 pad=1 -> relu  # stem
# the two branches
a = x -> conv 2x1x1
b = x -> avgpool 3 stride=1 pad=1
  -> conv 2x3x3 pad=1
z = concat a b -> relu
add z x -> pool 2 -> affine 10 -> softmax
data mnist
"""


def test_fmt_keeps_graph_lines_and_comments():
    assert netc.format(GRAPH) == GRAPH
    assert netc.format(GRAPH.replace("x = conv", "x   =   conv")) == GRAPH


def test_document_round_trip():
    document = netc.parse(GRAPH)
    assert document["layers"][2] == {"type": "conv", "filters": 2, "kernel": [1, 1], "inputs": ["x"],
                                     "name": "a", "line": 5, "column": 10}
    text = netc.format(document)
    assert netc.compile(text).to_json() != ""
    strip = lambda plan: [{k: v for k, v in s.items() if k not in ("line", "column")} for s in plan.layers]
    assert strip(netc.compile(text)) == strip(netc.compile(GRAPH))
    assert strip(netc.compile(document)) == strip(netc.compile(GRAPH))


def test_a_document_with_a_bad_name_names_its_path():
    document = netc.parse(GRAPH)
    document["layers"][2]["inputs"] = ["nope"]
    with pytest.raises(netc.NetcError, match="unknown tensor 'nope'"):
        netc.compile(document)


def test_chains_that_start_with_a_layer_read_the_previous_chain():
    plan = netc.compile(HEAD + "x = conv 2x3x3\nrelu\naffine 2 -> softmax\n")
    assert [s["inputs"] for s in plan.layers] == [[-1], [0], [1], [2]]


def test_fifty_layer_graph_checks_fast():
    import time
    lines = [HEAD, "h0 = conv 4x3x3 pad=1 -> relu\n"]
    for k in range(1, 25):
        lines.append(f"h{k} = h{k - 1} -> conv 4x3x3 pad=1 -> relu\n")
    lines.append("add h24 h23 -> affine 10 -> softmax\n")
    text = "".join(lines)    # every h is read by the next chain; h23 by the add too
    started = time.perf_counter()
    plan = netc.compile(text)
    assert len(plan.layers) == 53 and time.perf_counter() - started < 1.0
