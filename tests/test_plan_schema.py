"""spec/plan.schema.json describes the plan exactly as the planner emits it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

import netc
from netc.spec import schemas

MODELS = sorted((Path(__file__).parent.parent / "models").glob("*.net"))
EVERY_OP = """input 3x8x8
conv 4x3x3 pad=same init=he -> batchnorm -> prelu -> avgpool 2 -> maxpool 2 stride=1
  -> conv 2x2x2 weights=[[[[1, 1], [1, 1]], [[1, 1], [1, 1]], [[1, 1], [1, 1]], [[1, 1], [1, 1]]], [[[1, 1], [1, 1]], [[1, 1], [1, 1]], [[1, 1], [1, 1]], [[1, 1], [1, 1]]]] bias=[0, 0]
  -> flatten -> leaky_relu -> elu -> tanh -> sigmoid -> step -> relu -> affine 5 init=0.1
  -> dropout 0.3 inverted=true -> batchnorm -> identity
data npz path="x.npz" validation=0.1 limit=10
optimizer rmsprop
train shuffle=false
weight_decay 1e-4
seed 7
"""


@pytest.fixture(scope="module")
def validator():
    schema = schemas.load("plan.schema.json")
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def assert_valid(validator, plan):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(plan)]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_every_model_plan_is_valid(validator, path):
    assert_valid(validator, json.loads(netc.load(path).to_json()))


def test_every_op_and_option(validator):
    plan = json.loads(netc.compile(EVERY_OP).to_json())
    assert {s["op"] for s in plan["layers"]} >= {"conv", "batchnorm", "prelu", "avgpool", "maxpool",
                                                 "flatten", "leaky_relu", "elu", "tanh", "sigmoid",
                                                 "step", "relu", "affine", "dropout", "identity"}
    assert_valid(validator, plan)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_every_optimizer(validator, optimizer):
    plan = netc.compile(f"input 4\naffine 2 -> softmax\noptimizer {optimizer}\ndata xor\n").to_json()
    assert_valid(validator, json.loads(plan))


@pytest.mark.parametrize("spoil", [
    lambda p: p.update(extra=1),
    lambda p: p["layers"][0].update(extra=1),
    lambda p: p["layers"][0]["options"].pop("stride"),
    lambda p: p["layers"][0].pop("init"),
    lambda p: p["layers"][1]["options"].update(alpha=1),
    lambda p: p["optimizer"].pop("beta1"),
    lambda p: p["train"].pop("shuffle"),
    lambda p: p.update(loss="hinge"),
])
def test_the_schema_is_strict(validator, spoil):
    plan = json.loads(netc.load(Path(__file__).parent.parent / "models" / "simpleconv.net").to_json())
    spoil(plan)
    assert list(validator.iter_errors(plan))
