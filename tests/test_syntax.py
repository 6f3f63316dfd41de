"""Stage 1 and 2: the grammar and the lowering to a spec document."""
from __future__ import annotations

from importlib import resources

import pytest
from lark import Lark

import netc
from netc.compiler.syntax import parse_statements

ONE_LINE = "conv 30x5x5 -> relu -> pool 2 -> affine 100 -> relu -> affine 10 -> softmax"


def layers(text):
    return [{k: v for k, v in layer.items() if k not in ("line", "column")}
            for layer in netc.parse(text)["layers"]]


def test_grammar_is_lalr_without_conflicts():
    """Lark raises GrammarError on any LALR conflict, so building is the test."""
    grammar = resources.files("netc.spec").joinpath("netc.lark").read_text()
    parser = Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True)
    assert parser.options.parser == "lalr"


def test_one_line_chain_parses_as_written():
    assert layers(f"input 1x28x28\n{ONE_LINE}\n") == [
        {"type": "conv", "filters": 30, "kernel": [5, 5]}, {"type": "relu"},
        {"type": "pool", "window": [2, 2]}, {"type": "affine", "units": 100}, {"type": "relu"},
        {"type": "affine", "units": 10}, {"type": "softmax"}]


@pytest.mark.parametrize("text", [
    "input 1x28x28\nconv 30x5x5 -> relu -> pool 2\n  -> affine 100 -> relu\n  -> affine 10 -> softmax\n",
    "input 1x28x28\nconv 30x5x5 -> relu -> pool 2  # first\n\n  # a note\n  -> affine 100 -> relu -> affine 10\n->softmax",
    "input 1x28x28\r\nconv 30x5x5 -> relu -> pool 2\r\n\t-> affine 100 -> relu -> affine 10 -> softmax\r\n",
    "input 1x28x28\r\n\r\n# a -> b\r\nconv 30x5x5 -> relu -> pool 2\r\n \r\n# c -> d\r\n\t-> affine 100 -> relu\r\n"
    "  # e\r\n-> affine 10 -> softmax\r\n",
    "# leading comment\n\ninput 1x28x28   \n" + ONE_LINE.replace(" -> ", "->") + "  # trailing",
])
def test_layouts_of_the_same_chain(text):
    assert layers(text) == layers(f"input 1x28x28\n{ONE_LINE}\n")


def test_positions_are_recorded():
    doc = netc.parse("input 784\n\naffine 10 -> softmax\n")
    assert [(l["line"], l["column"]) for l in doc["layers"]] == [(3, 1), (3, 14)]


@pytest.mark.parametrize("text, key, expected", [
    ("input 28x28", "input", [1, 28, 28]),
    ("input 784", "input", [784]),
    ("input 3x32x32", "input", [3, 32, 32]),
    ("network my_net", "name", "my_net"),
    ('network "my net"', "name", "my net"),
    ("data fashion-mnist validation=0.1 limit=500", "data", {"name": "fashion-mnist", "validation": 0.1, "limit": 500}),
    ('data npz path="data/digits.npz"', "data", {"name": "npz", "path": "data/digits.npz"}),
    ("init std=0.01", "init", {"type": "std", "std": 0.01}),
    ("init he", "init", {"type": "he"}),
    ("optimizer momentum lr=0.1 momentum=0.5", "optimizer", {"type": "momentum", "lr": 0.1, "momentum": 0.5}),
    ("train epochs=2 batch=10 eval=5 shuffle=false", "train", {"epochs": 2, "batch": 10, "eval": 5, "shuffle": False}),
    ("train", "train", {}),
    ("weight_decay 1e-6", "weight_decay", 1e-6),
    ("seed 42", "seed", 42),
])
def test_directives(text, key, expected):
    doc = netc.parse(f"input 784\naffine 10 -> softmax\n{text}\n" if key != "input" else f"{text}\naffine 10\n")
    assert doc[key] == expected


@pytest.mark.parametrize("text, expected", [
    ("conv 8x3x5 stride=2x1 pad=same init=he", {"type": "conv", "filters": 8, "kernel": [3, 5], "stride": [2, 1],
                                                 "pad": "same", "init": {"type": "he"}}),
    ("conv 8x3x3 init=0.05", {"type": "conv", "filters": 8, "kernel": [3, 3], "init": {"type": "std", "std": 0.05}}),
    ("avgpool 2x3 stride=1 pad=1", {"type": "avgpool", "window": [2, 3], "stride": 1, "pad": 1}),
    ("leaky_relu alpha=0.2", {"type": "leaky_relu", "alpha": 0.2}),
    ("prelu init=-0.5", {"type": "prelu", "init": -0.5}),
    ("batchnorm momentum=0.5 eps=1e-3", {"type": "batchnorm", "momentum": 0.5, "eps": 0.001}),
    ("dropout 0.25 inverted=true", {"type": "dropout", "ratio": 0.25, "inverted": True}),
    ("affine 2 weights=[[1, -2.5], [.5, 3e2]] bias=[0, 0]",
     {"type": "affine", "units": 2, "weights": [[1, -2.5], [0.5, 300.0]], "bias": [0, 0]}),
])
def test_layer_forms(text, expected):
    assert layers(f"input 3x8x8\n{text}\n") == [expected]


@pytest.mark.parametrize("text, line, column, label", [
    ("input 784\naffine 10 ->\n", 2, 13, "unexpected end of line"),
    ("input 784\naffine 10 -> -> relu\n", 2, 14, "unexpected '->'"),
    ("input 784\naffine 10 = 3\n", 2, 11, "unexpected '='"),
    ("input 784\naffine weights=[1, 2\n", 2, 21, "unexpected end of line"),
    ("input 784\naffine 10 @\n", 2, 11, "unexpected character '@'"),
    ("input 784\naffine 10 -> relu,\n", 2, 18, "unexpected ','"),
    ("input 784\nseed 1]\n", 2, 7, "unexpected ']'"),
    ("input 784\n  -> relu\n", 1, 1, "directive and cannot be chained"),
    ("x=1\n", 1, 3, "unexpected '1'"),
])
def test_syntax_errors(text, line, column, label):
    with pytest.raises(netc.NetcError) as caught:
        netc.compile(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert label in caught.value.message


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(netc.NetcSyntaxError, match="nest"):
        netc.parse("input 2\naffine 1 weights=" + "[" * 40 + "1" + "]" * 40 + "\n")
    with pytest.raises(netc.NetcSyntaxError, match="nest"):
        netc.parse("input 2\naffine 1 weights=" + "[" * 5000 + "1" + "]" * 5000 + "\n")


def test_huge_integers_are_too_large():
    with pytest.raises(netc.NetcSyntaxError, match="too large"):
        netc.parse("input " + "9" * 5000 + "\naffine 1\n")


def test_statements_keep_value_positions():
    (chain,) = parse_statements("conv 30x5x5 pad=1 -> relu\n")
    conv, relu = chain.commands
    assert (conv.args[0].pos.column, conv.options[0].value.pos.column, relu.pos.column) == (6, 17, 22)
