"""The `search` directive: ranges over spec paths, written and read back."""
from __future__ import annotations

import pytest

import netc

BASE = "input 784\naffine 10 -> softmax\ndata mnist validation=0.2\n"


def test_search_lowers_to_settings_and_a_space():
    doc = netc.parse(BASE + "search lr=log(1e-6, 0.01) train.batch=choice(50, 100) trials=20 epochs=1\n")
    assert doc["search"] == {"trials": 20, "epochs": 1, "space": {
        "lr": {"call": "log", "args": [1e-6, 0.01]},
        "train.batch": {"call": "choice", "args": [50, 100]}}}


def test_search_survives_format_and_parse():
    doc = netc.parse(BASE + "search weight_decay=log(1e-8, 1e-4) layers.0.units=choice(10, 20) trials=3\n")
    assert netc.parse(netc.format(doc))["search"] == doc["search"]
    assert "search weight_decay=log(1e-8, 1e-4) layers.0.units=choice(10, 20) trials=3" in netc.format(doc)


def test_a_network_with_search_still_compiles():
    plan = netc.compile(BASE + "search lr=uniform(0.01, 0.1)\n")
    assert plan.document["search"]["space"]["lr"] == {"call": "uniform", "args": [0.01, 0.1]}


@pytest.mark.parametrize("line, column, words", [
    ("search lr=0.1", 11, "needs a range"),
    ("search fooo=log(1, 2)", 8, "not a spec path"),
    ("search trials=3", 1, "at least one range"),
    ("search lr=log(0, 1)", 11, "out of range"),
    ("search lr=log(0.1, 1) trials=0", 30, "out of range"),
    ("search lr=normal(0, 1)", 11, "known: choice, log, uniform"),
])
def test_search_mistakes_point_at_their_column(line, column, words):
    with pytest.raises(netc.NetcError) as error:
        netc.compile(BASE + line + "\n")
    assert (error.value.line, error.value.column) == (4, column)
    assert words in str(error.value)
