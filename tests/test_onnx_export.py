"""ONNX export: every model in models/ and every op, checked by onnx's full
checker and run by ONNX Runtime against Network.predict; then imported back."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

import netc
from netc.spec.ops import OPS
from netc.onnx import OPSETS
from netc.onnx.export import EMITTERS
from netc.onnx.importer import import_onnx, network_of
from onnx_helpers import (MODEL_FILES, TOLERANCE, network_for, network_only, run_onnx, sample_inputs,
                          steps_without_positions)

ROOT = Path(__file__).resolve().parents[1]

# (op, network) pairs: every op of the plan, each under the conventions that
# differ between netc and ONNX (padding, flattening order, per-channel arrays).
OP_NETWORKS = [
    ("conv", "input 2x7x7\nconv 3x3x3 stride=2 pad=1"),
    ("conv", "input 3x6x6\nconv 4x3x2 stride=1x2 pad=2x0"),
    ("maxpool", "input 2x7x7\nmaxpool 3 stride=2 pad=1"),   # -inf padding: inputs are negative too
    ("maxpool", "input 2x8x8\nconv 3x3x3 pad=1 -> relu -> pool 2"),   # the fused relu + pool kernel
    ("avgpool", "input 2x7x7\navgpool 3 stride=2 pad=1"),   # padded zeros count in the mean
    ("affine", "input 2x3x4\naffine 5"),   # flattens C, H, W
    ("affine", "input 6\naffine 3 -> affine 2"),
    ("flatten", "input 2x3x3\nflatten -> affine 4"),
    ("relu", "input 2x3x3\nrelu"),
    ("sigmoid", "input 2x3x3\nsigmoid"),
    ("tanh", "input 7\ntanh"),
    ("step", "input 2x3x3\nstep"),
    ("leaky_relu", "input 2x3x3\nleaky_relu alpha=0.2"),
    ("prelu", "input 3x4x4\nprelu"),   # one slope per channel
    ("prelu", "input 6\nprelu init=0.1"),
    ("elu", "input 2x3x3\nelu alpha=0.5"),
    ("batchnorm", "input 3x4x4\nbatchnorm eps=0.001 momentum=0.8"),
    ("batchnorm", "input 6\nbatchnorm"),
    ("dropout", "input 2x3x3\ndropout 0.3"),   # the book's: x * 0.7 at inference
    ("dropout", "input 6\ndropout 0.4 inverted=true"),
    ("add", "input 2x6x6\nx = conv 3x3x3 pad=1 -> relu\ny = x -> conv 3x3x3 pad=1 -> batchnorm\n"
            "add x y -> relu -> pool 2 -> affine 4 -> softmax"),
    ("add", "input 4\na = affine 3\nb = input -> affine 3 -> tanh\nc = input -> affine 3\nadd a b c"),
    ("concat", "input 2x6x6\nz = conv 4x3x3 pad=1 -> relu\na = z -> conv 2x1x1\nb = z -> avgpool 3 stride=1 pad=1\n"
               "concat a b -> affine 3"),
    ("concat", "input 5\nh = affine 4 -> prelu\nconcat h input -> dropout 0.5 -> affine 2 -> identity"),
    ("softmax", "input 5\naffine 4 -> softmax"),
    ("identity", "input 5\naffine 2 -> identity"),
]


def test_every_op_has_an_emitter_and_an_export_case():
    assert set(OPS) == set(EMITTERS) | {op for op in OPS if OPS[op].join}
    assert set(OPS) <= {op for op, _ in OP_NETWORKS}


def _export_and_compare(plan, tmp_path, opset=17):
    network = network_for(plan)
    path = tmp_path / f"{plan.name}.onnx"
    model = netc.export_onnx(plan, network, path, opset=opset)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    x = sample_inputs(plan.input_shape)
    ours = network.predict(x)
    np.testing.assert_allclose(run_onnx(path, x), ours, **TOLERANCE)
    return model, path, network, x, ours


def _round_trip(plan, path, x, ours):
    """Import gives the same network (apart from source positions) and outputs."""
    imported = import_onnx(path)
    expected = network_only(plan)
    assert imported.plan.name == plan.name
    assert imported.plan.input_shape == plan.input_shape
    assert imported.plan.output_shape == plan.output_shape
    assert steps_without_positions(imported.plan) == steps_without_positions(expected)
    assert netc.format(imported.text) == imported.text
    np.testing.assert_allclose(network_of(imported).predict(x), ours, **TOLERANCE)


@pytest.mark.parametrize("op, text", OP_NETWORKS, ids=[f"{op}-{i}" for i, (op, _) in enumerate(OP_NETWORKS)])
def test_each_op_matches_onnx_runtime_and_comes_back(op, text, tmp_path):
    plan = netc.compile(f"network {op}_case\n{text}\nseed 3\n")
    assert op in [step["op"] for step in plan.layers]
    _, path, _, x, ours = _export_and_compare(plan, tmp_path)
    _round_trip(plan, path, x, ours)


@pytest.mark.parametrize("file", MODEL_FILES, ids=[f.stem for f in MODEL_FILES])
def test_every_model_matches_onnx_runtime_and_comes_back(file, tmp_path):
    plan = netc.load(file)
    _, path, _, x, ours = _export_and_compare(plan, tmp_path)
    _round_trip(plan, path, x, ours)


def test_book_dropout_is_a_marked_mul_and_comes_back_as_dropout(tmp_path):
    plan = netc.compile("network drop\ninput 4\naffine 3 -> dropout 0.15 -> affine 2 -> softmax\n")
    model, path, _, _, _ = _export_and_compare(plan, tmp_path)
    ops = [node.op_type for node in model.graph.node]
    assert "Dropout" not in ops and ops.count("Mul") == 1
    dropout = import_onnx(path).plan.layers[1]
    assert dropout["op"] == "dropout" and dropout["options"] == {"ratio": 0.15, "inverted": False}


@pytest.mark.parametrize("opset", list(OPSETS))
def test_every_supported_opset(opset, tmp_path):
    plan = netc.compile("network opsets\ninput 2x6x6\nconv 4x3x3 pad=1 -> batchnorm -> prelu -> avgpool 2\n"
                        "  -> affine 5 -> elu -> dropout 0.2 -> affine 3 -> softmax\n")
    model, _, _, _, _ = _export_and_compare(plan, tmp_path, opset=opset)
    assert model.opset_import[0].version == opset


def test_names_metadata_and_symbolic_batch(tmp_path):
    plan = netc.load(MODEL_FILES[0].parent / "simpleconv.net")
    model, path, network, _, _ = _export_and_compare(plan, tmp_path)
    props = {p.key: p.value for p in model.metadata_props}
    assert props == {"netc.name": "simpleconv", "netc.version": netc.__version__}
    assert model.graph.name == "simpleconv" and model.producer_name == "netc"
    (inp,), (out,) = model.graph.input, model.graph.output
    assert (inp.name, out.name) == ("input", "output")
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == ["N", 1, 28, 28]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["N", 10]
    for batch in (1, 3):
        x = sample_inputs(plan.input_shape, batch, seed=batch)
        np.testing.assert_allclose(run_onnx(path, x), network.predict(x), **TOLERANCE)


def test_unsupported_opset_is_a_clear_error(tmp_path):
    plan = netc.compile("input 3\nrelu\n")
    with pytest.raises(netc.NetcError, match="opset 12 is not supported; export writes opsets 13-21"):
        netc.export_onnx(plan, network_for(plan), tmp_path / "m.onnx", opset=12)
    assert not (tmp_path / "m.onnx").exists()


def test_the_serving_example_in_the_docs_runs(tmp_path, monkeypatch, capsys):
    """docs/onnx.md's five lines, on the book's SimpleConvNet and three test digits."""
    from helpers import MODELS
    from netc.runtime.data import load_dataset
    from onnx_helpers import BOOK_PARAMS
    plan = netc.load(MODELS / "simpleconv.net")
    netc.export_onnx(plan, BOOK_PARAMS / "simpleconv.npz", tmp_path / "simpleconv.onnx")
    data = load_dataset(plan.data["data"], plan.input_shape, 0)
    np.save(tmp_path / "digits.npy", data.x_test[:20].reshape(20, 28, 28))
    code = (ROOT / "docs" / "onnx.md").read_text().split("```python\n")[1].split("```")[0]
    assert len(code.strip().splitlines()) == 5
    monkeypatch.chdir(tmp_path)
    exec(code, {})
    printed = capsys.readouterr().out
    expected = network_for(plan).predict(data.x_test[:20]).argmax(axis=1)
    assert printed.strip() == str(expected)
    assert (expected == data.t_test[:20]).mean() >= 0.9


def test_a_tensor_named_output_does_not_clash_with_the_models_output(tmp_path):
    plan = netc.compile("network clash\ninput 3\noutput = affine 3\nadd output input -> softmax\n")
    _, path, _, x, ours = _export_and_compare(plan, tmp_path)
    imported = import_onnx(path)
    assert imported.text == "network clash\ninput 3\nx0 = affine 3\nadd x0 input -> softmax\n"
    np.testing.assert_allclose(network_of(imported).predict(x), ours, **TOLERANCE)


@pytest.mark.parametrize("name", ["resnet", "inception"])
def test_a_trained_graph_exports_and_comes_back_with_its_statistics(name, tmp_path):
    """Trained a few steps (so batch norm holds real running statistics), then served."""
    from helpers import MODELS, blobs
    plan = netc.load(MODELS / f"{name}.net")
    x, t = blobs(64, plan.input_shape, 10)
    model = plan.build()
    model.fit(x, t, epochs=1, batch=32)
    path = tmp_path / f"{name}.onnx"
    netc.export_onnx(plan, model, path)
    sample = x[:8].astype(np.float32) / 255
    ours = model.predict(sample)
    np.testing.assert_allclose(run_onnx(path, sample), ours, **TOLERANCE)
    np.testing.assert_allclose(network_of(import_onnx(path)).predict(sample), ours, **TOLERANCE)
