"""The op table (spec/ops.py) is the one description of every op: the runtime's
registry, the schemas, the docs and the benchmark's translation agree with it."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from netc.compiler import schema
from netc.experiments.activations import ACTIVATION_OPS
from netc.runtime.layers import LAYERS
from netc.spec import schemas
from netc.spec.ops import OPS, WORDS

ROOT = Path(__file__).parent.parent


def test_every_op_has_a_layer_class_and_no_class_lacks_an_op():
    assert set(LAYERS) == set(OPS)


def test_the_schemas_list_exactly_the_table():
    spec = schemas.load("netc.schema.json")
    assert spec["$defs"]["layer"]["properties"]["type"]["enum"] == list(WORDS)
    assert {f"layer_{word}" for word in OPS} <= set(spec["$defs"])
    plan = schemas.load("plan.schema.json")
    assert plan["$defs"]["step"]["properties"]["op"]["enum"] == list(OPS)
    kernels = {k for op in OPS.values() for k in op.kernels}
    assert set(plan["$defs"]["step"]["properties"]["kernel"]["enum"]) == kernels


def test_the_compiler_reads_options_and_defaults_from_the_table():
    for word in WORDS:
        op = OPS[WORDS[word]]
        assert schema.options("layer", word) == [k for k in op.options]
        assert schema.defaults("layer", word) == {k: o.spec["default"] for k, o in op.options.items()
                                                  if "default" in o.spec}


@pytest.mark.parametrize("doc", ["spec/LANGUAGE.md", "spec/PLAN.md"])
def test_the_docs_name_every_op(doc):
    text = (ROOT / doc).read_text()
    missing = [word for word in OPS if not re.search(rf"`{word}`", text)]
    assert not missing, f"{doc} does not mention {missing}"


def test_activations_come_from_the_table():
    assert set(ACTIVATION_OPS) == {w for w, op in OPS.items() if op.kind == "activation"}
    assert "relu" in ACTIVATION_OPS and "softmax" not in ACTIVATION_OPS


def test_the_pytorch_translation_covers_every_op():
    spec = importlib.util.spec_from_file_location("compare_torch", ROOT / "benchmarks" / "compare_torch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert set(module.TRANSLATIONS) | set(module.UNTRANSLATED) == set(OPS)
    assert not set(module.TRANSLATIONS) & set(module.UNTRANSLATED)


def test_an_unknown_layer_word_lists_the_table():
    import netc
    with pytest.raises(netc.NetcError) as caught:
        netc.compile("input 4\nrelu6 -> softmax\n")
    assert all(word in caught.value.hint for word in WORDS)
