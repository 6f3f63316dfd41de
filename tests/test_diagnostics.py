"""Golden rendered diagnostics: message, source line, caret and hint, exactly."""
from __future__ import annotations

import textwrap

import pytest

import netc
from netc.compiler.lower import KNOWN_NAMES

GOLDEN = {
    "input 1x28x28\nconv 30x5x5 stride=2 -> relu -> pool 2\n  -> affine 10 -> softmax\n": """
        model.net:2:20: error: conv: output height: (28 + 2*0 - 5)/2 + 1 = 12.5 is not a whole number
            conv 30x5x5 stride=2 -> relu -> pool 2
                               ^
        hint: try stride=1""",
    "input 784\naffine 10 -> softmax\noptimizer sgd\ntrain epochs=3\noptimizer adam\n": """
        model.net:5:1: error: 'optimizer' given twice (first on line 3)
            optimizer adam
            ^
        hint: keep one 'optimizer' line""",
    "input 784\naffine 10 -> softmax\ntrain shuffle=3\n": """
        model.net:3:15: error: train.shuffle: 3 is not a boolean
            train shuffle=3
                          ^
        hint: write true or false""",
    "input 784\naffine 10 ->\n": """
        model.net:2:13: error: unexpected end of line
            affine 10 ->
                        ^
        hint: '->' must be followed by a layer; to continue on the next line, start that line with '->'""",
    "input 1x8x8\nconv 4x3x3 -> relu -> pool 4\n": """
        model.net:2:23: error: pool: output height: (6 + 2*0 - 4)/4 + 1 = 1.5 is not a whole number
            conv 4x3x3 -> relu -> pool 4
                                  ^
        hint: try pad=1 or stride=2""",
    "input 784\naffine 10 -> softmx\ntrain epochs=0 shuffle=3\n": """
        model.net:2:14: error: unknown layer or directive 'softmx'
            affine 10 -> softmx
                         ^
        hint: did you mean 'softmax'? known: {known}
        model.net:3:14: error: train.epochs: 0 is out of range: it must be >= 1
            train epochs=0 shuffle=3
                         ^
        model.net:3:24: error: train.shuffle: 3 is not a boolean
            train epochs=0 shuffle=3
                                   ^
        hint: write true or false""",
}


@pytest.mark.parametrize("text", GOLDEN, ids=range(len(GOLDEN)))
def test_golden(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.net").write_text(text)
    with pytest.raises(netc.NetcError) as caught:
        netc.load("model.net")
    # "known:" lists every op and directive: the golden text takes the list from the tables
    known = ", ".join(KNOWN_NAMES)
    assert str(caught.value) == textwrap.dedent(GOLDEN[text]).strip("\n").replace("{known}", known)


def test_error_carries_its_parts():
    with pytest.raises(netc.NetcShapeError) as caught:
        netc.compile("input 1x28x28\nconv 30x5x5 stride=2 -> relu -> affine 10 -> softmax\n")
    error = caught.value
    assert (error.line, error.column) == (2, 20)
    assert error.hint == "try stride=1"
    assert str(error).startswith("<input>:2:20: error: conv: output height")


def test_several_errors_are_sorted_and_kept():
    with pytest.raises(netc.NetcErrors) as caught:
        netc.compile("input 784\ntrain batch=0 epochs=0\naffine 10 -> sofmax\n")
    assert [(e.line, e.column) for e in caught.value.errors] == [(2, 13), (2, 22), (3, 14)]
    assert isinstance(caught.value, netc.NetcError)


def test_a_failed_layer_does_not_cascade():
    """`conv 30x5` fails to lower; the schema must not add 'filters is required'."""
    with pytest.raises(netc.NetcError) as caught:
        netc.compile("input 1x28x28\nconv 30x5 -> relu -> affine 10 -> softmax\n")
    assert not isinstance(caught.value, netc.NetcErrors)
    assert "FxKHxKW" in caught.value.message


def test_a_shape_error_stops_the_chain_but_not_other_checks():
    text = "input 1x28x28\nconv 3x5x5 stride=2 -> softmax -> affine 10 -> softmax\n"
    with pytest.raises(netc.NetcErrors) as caught:
        netc.compile(text)
    messages = [e.message for e in caught.value.errors]
    assert any("must come last" in m for m in messages)
    assert any("not a whole number" in m for m in messages)


def test_document_errors_name_the_json_path():
    document = {"input": [784], "layers": [{"type": "affine", "units": 10}, {"type": "affine", "units": 0}]}
    with pytest.raises(netc.NetcSpecError) as caught:
        netc.compile(document)
    assert caught.value.message.startswith("layers[1].units: 0 is out of range")
    assert caught.value.line is None


def test_document_unknown_key_suggests():
    document = {"input": [784], "layers": [{"type": "affine", "unitz": 10}]}
    with pytest.raises(netc.NetcError) as caught:
        netc.compile(document)
    assert "unitz" in str(caught.value)


def test_strict_integers_in_documents():
    with pytest.raises(netc.NetcSpecError, match="not an integer"):
        netc.compile({"input": [784], "layers": [{"type": "affine", "units": 10.0}]})


@pytest.mark.parametrize("source", [None, 42, ["input 784"], b"input 784\n\xff\n"])
def test_wrong_source_types_are_netc_errors(source):
    with pytest.raises(netc.NetcError):
        netc.compile(source)


def test_bytes_are_text_when_utf8():
    assert netc.compile(b"input 784\naffine 10 -> softmax\n").total_params == 7850


def test_a_stride_that_does_not_fit_shows_the_exact_fraction_at_once():
    import time
    started = time.process_time()
    with pytest.raises(netc.NetcError) as caught:
        netc.compile("input 1x1000000008x1\nconv 1x1x1 stride=999999999\n")
    assert time.process_time() - started < 1.0
    assert "(1000000008 + 2*0 - 1)/999999999 + 1 = 2000000006/999999999 is not a whole number" in str(caught.value)
    with pytest.raises(netc.NetcError, match=r"\(28 \+ 2\*0 - 5\)/2 \+ 1 = 12.5 is not"):
        netc.compile("input 1x28x28\nconv 3x5x5 stride=2\n")


def test_lists_nested_too_deep_are_refused_at_their_line():
    text = "input 784\naffine 10 -> softmax\ndata mnist\nsearch lr=e(" + "[" * 50_000 + "]" * 50_000 + ")\n"
    with pytest.raises(netc.NetcError, match="lists and calls nest at most 16 deep") as caught:
        netc.compile(text)
    assert caught.value.line == 4
