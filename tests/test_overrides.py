"""`--set KEY=VALUE` and `--vary`: short forms, and clear errors for paths
that lead nowhere."""
from __future__ import annotations

import pytest

import netc
from netc.errors import NetcError
from netc.experiments.compare import compare
from netc.overrides import apply_overrides

SPEC = "input 4\naffine 3 -> relu -> affine 2 -> softmax\ndata xor validation=0.25 limit=4\n"


def _document(text=SPEC):
    return netc.compile(text).document


def test_short_forms():
    document = apply_overrides(_document(), ["data=fashion-mnist", "lr=0.5", "batch=7", "schedule=exponential:0.9",
                                             "optimizer=adam:0.001", "init=he"])
    # data=NAME keeps the data line's other options; the rest start afresh
    assert document["data"] == {"name": "fashion-mnist", "validation": 0.25, "limit": 4}
    assert document["optimizer"] == {"type": "adam", "lr": 0.001}      # set after lr=0.5
    assert document["train"]["batch"] == 7
    assert document["schedule"] == {"type": "exponential", "factor": 0.9}
    assert document["init"] == {"type": "he"}
    assert apply_overrides(_document(), ["lr=0.5"])["optimizer"] == {"type": "sgd", "lr": 0.5}


@pytest.mark.parametrize("assignment, message, hint", [
    ("layers.1.units=5", "layer 1 ('relu') has no option 'units'", "'relu' takes no options"),
    ("layers.0.unitz=5", "layer 0 ('affine') has no option 'unitz'", "did you mean 'units'?"),
    ("layers.0.units.x=1", "layers.0.units is a value (3), not a group of keys", "set it as a whole"),
    ("data.name.x=1", "data.name is a value (\"xor\"), not a group of keys", "set it as a whole"),
    ("layers.9.units=1", "layers.9 is past the end (4 items)", "count from 0: 0 to 3"),
    ("schedule.factor=0.5", "no 'schedule' line", "--set schedule=cosine"),
    ("lrr=1", "unknown key 'lrr'", "did you mean 'lr'?"),
])
def test_paths_that_lead_nowhere_say_why(assignment, message, hint):
    with pytest.raises(NetcError) as caught:
        apply_overrides(_document(), [assignment])
    assert message in caught.value.message and hint in caught.value.hint
    assert caught.value.message.startswith(f"--set '{assignment}'")


def test_an_option_of_a_missing_optimizer_line_is_checked_against_the_default_optimizer():
    with pytest.raises(NetcError) as caught:
        netc.compile(apply_overrides(_document(), ["optimizer.lrr=0.1"]))
    assert "unknown key 'lrr'" in caught.value.message and "did you mean 'lr'?" in caught.value.hint


def test_hints_advise_rather_than_describe():
    with pytest.raises(NetcError) as caught:
        netc.compile(apply_overrides(_document(), ["lr=-1"]))
    assert caught.value.hint == "the learning rate: write a positive number, e.g. lr=0.01"


def test_compare_checks_every_vary_value_before_training(tmp_path):
    spec = tmp_path / "xor.net"
    spec.write_text(SPEC)
    with pytest.raises(NetcError) as caught:
        compare([spec], ["optimizer.lr=0.1,-1"], out=tmp_path / "cmp", epochs=1)
    assert caught.value.message.startswith("--vary optimizer.lr=-1: optimizer.lr: -1 is out of range")
    assert not (tmp_path / "cmp").exists()              # nothing trained, no folder
    with pytest.raises(NetcError, match="error: --vary optimizer.lrr=0.1: optimizer: unknown key 'lrr'"):
        compare([spec], ["optimizer.lrr=0.1"], out=tmp_path / "cmp2", epochs=1)
