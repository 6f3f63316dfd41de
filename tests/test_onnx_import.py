"""ONNX import: models from PyTorch's exporter (tests/fixtures/onnx) and small
hand-built graphs become .net files and weights that match ONNX Runtime; what
netc cannot express is a clear error naming the node."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

import netc
from netc.cli import cli
from netc.onnx.importer import import_onnx, network_of
from netc.runtime.checkpoint import load_weights
from netc.runtime.network import Network
from onnx_helpers import FIXTURES, TOLERANCE, run_onnx, sample_inputs

SEQUENTIAL = """\
network torch_sequential
input 1x12x12
conv 4x3x3 pad=1 -> batchnorm -> relu -> pool 2 -> conv 6x3x3 -> prelu
  -> avgpool 2 pad=1 -> conv 6x1x1 -> elu alpha=0.7 -> flatten -> affine 16
  -> leaky_relu alpha=0.1 -> affine 12 -> batchnorm -> tanh -> affine 10 -> sigmoid
  -> affine 10 -> softmax
"""


def netc_(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_a_pytorch_sequential_cnn_becomes_this_net_file():
    imported = import_onnx(FIXTURES / "torch_sequential.onnx", name="torch_sequential")
    assert imported.text == SEQUENTIAL
    x = sample_inputs((1, 12, 12), 9)
    np.testing.assert_allclose(network_of(imported).predict(x),
                               run_onnx(FIXTURES / "torch_sequential.onnx", x), **TOLERANCE)


FIXTURE_NAMES = sorted(path.stem for path in FIXTURES.glob("*.onnx"))


def test_the_fixtures_are_all_there():
    assert FIXTURE_NAMES == ["torch_branches", "torch_dynamo_branches", "torch_dynamo_sequential",
                             "torch_residual", "torch_sequential"]


@pytest.mark.parametrize("fixture", FIXTURE_NAMES)
def test_netc_import_writes_files_that_match_onnx_runtime(fixture, tmp_path):
    source = FIXTURES / f"{fixture}.onnx"
    assert source.stat().st_size < 100_000
    result = netc_("import", source, "-o", tmp_path / "model.net")
    assert result.exit_code == 0, result.output
    assert f"wrote {tmp_path / 'model.net'} and {tmp_path / 'model.npz'}" in result.output
    text = (tmp_path / "model.net").read_text()
    assert netc.format(text) == text and text.startswith(f"network {fixture}\n")
    plan = netc.load(tmp_path / "model.net")
    network = Network(plan.data)
    assert load_weights(tmp_path / "model.npz", network) == "checkpoint"
    x = sample_inputs(plan.input_shape, 5, seed=1)
    np.testing.assert_allclose(network.predict(x), run_onnx(source, x), **TOLERANCE)


RESIDUAL = """\
network torch_residual
input 1x8x8
x0 = conv 8x3x3 pad=1 -> relu
x1 = x0 -> conv 8x3x3 pad=1 -> relu -> conv 8x3x3 pad=1
add x0 x1 -> relu -> pool 2 -> flatten -> affine 5 -> softmax
"""


DYNAMO_BRANCHES = """\
network torch_dynamo_branches
input 3x8x8
x0 = conv 6x3x3 pad=1 -> relu
relu_1 = x0 -> conv 4x1x1 -> relu
conv2d_3 = x0 -> conv 4x3x3 pad=1 -> relu -> conv 5x3x3 pad=1
concat relu_1 conv2d_3 -> relu -> avgpool 8 -> flatten -> affine 4 -> softmax
"""


def test_the_dynamo_exporters_names_and_global_pooling():
    """Its readable tensor names are kept where the graph needs names; `relu` is
    an op's word, so that tensor gets a name of netc's."""
    assert import_onnx(FIXTURES / "torch_dynamo_branches.onnx").text == DYNAMO_BRANCHES


def test_graph_fixtures_keep_their_joins():
    residual = import_onnx(FIXTURES / "torch_residual.onnx")
    assert residual.text == RESIDUAL   # PyTorch folded each batch norm into its convolution
    residual = residual.plan
    branches = import_onnx(FIXTURES / "torch_branches.onnx").plan
    add, = [s for s in residual.layers if s["op"] == "add"]
    concat, = [s for s in branches.layers if s["op"] == "concat"]
    assert len(add["inputs"]) == 2 and add["output_shape"] == [8, 8, 8]
    assert len(concat["inputs"]) == 2 and concat["output_shape"] == [9, 8, 8]


# -- hand-built graphs ----------------------------------------------------------

def make_model(nodes, input_shape, output_shape, constants=None, name="hand"):
    inits = [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in (constants or {}).items()]
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *input_shape])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", *output_shape])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _matches_onnx_runtime(model, input_shape):
    imported = import_onnx(model)
    x = sample_inputs(input_shape, 4)
    np.testing.assert_allclose(network_of(imported).predict(x), run_onnx(model, x), **TOLERANCE)
    return imported


def test_reshape_to_two_axes_is_a_flatten_dropout_is_inverted_and_gemm_options_fold():
    rng = np.random.default_rng(0)
    model = make_model([helper.make_node("Reshape", ["x", "shape"], ["flat"], name="r"),
                        helper.make_node("Dropout", ["flat", "ratio"], ["d"], name="d"),
                        helper.make_node("Identity", ["W"], ["W_shared"], name="i"),
                        helper.make_node("Gemm", ["d", "W_shared", "b"], ["y"], name="g", transB=1, alpha=0.5)],
                       [2, 3, 3], [4], {"shape": np.array([0, -1]), "W": rng.standard_normal((4, 18)),
                                        "b": rng.standard_normal(4), "ratio": np.array(0.25)})
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.array([0, -1], np.int64), "shape"))
    imported = _matches_onnx_runtime(model, (2, 3, 3))
    assert imported.text == "network hand\ninput 2x3x3\nflatten -> dropout 0.25 inverted=true -> affine 4\n"


def _error(model) -> str:
    with pytest.raises(netc.NetcError) as caught:
        import_onnx(model)
    return str(caught.value)


def test_an_unsupported_op_names_the_node_its_type_and_the_supported_ones(tmp_path):
    model = make_model([helper.make_node("Relu", ["x"], ["r"], name="first"),
                        helper.make_node("Cos", ["r"], ["y"], name="wave")], [3], [3])
    path = tmp_path / "cos.onnx"
    onnx.save(model, str(path))
    result = netc_("import", path)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{path}: error: node 'wave' (Cos): op type Cos has no netc layer" in result.output
    assert "hint: supported op types: Add, AveragePool, BatchNormalization, Concat, Constant, Conv" in result.output
    assert not (tmp_path / "cos.net").exists() and not (tmp_path / "cos.npz").exists()


@pytest.mark.parametrize("node, attributes, message", [
    ("Conv", {"pads": [1, 1, 0, 0]}, "pads [1, 1, 0, 0] differ between the two sides of an axis"),
    ("Conv", {"group": 2}, "grouped convolution (group=2) is not supported"),
    ("Conv", {"dilations": [2, 2]}, "dilated windows are not supported"),
    ("AveragePool", {"pads": [1, 1, 1, 1]}, "averages that leave padded cells out (count_include_pad=0)"),
    ("MaxPool", {"ceil_mode": 1, "strides": [2, 2]},
     "output height: (5 + 2*0 - 2)/2 + 1 = 2.5, which ONNX rounds up; netc's windows must fit exactly"),
    ("Conv", {"strides": [3, 3], "pads": [1, 1, 1, 1]},
     "output height: (5 + 2*1 - 3)/3 + 1 = 2.33333, which ONNX rounds down"),
])
def test_what_netc_cannot_express_is_a_clear_error(node, attributes, message):
    W = np.ones((2, 2 // attributes.get("group", 1), 3, 3))
    inputs = ["x", "W"] if node == "Conv" else ["x"]
    extra = {} if node == "Conv" else {"kernel_shape": [3, 3] if node == "AveragePool" else [2, 2]}
    model = make_model([helper.make_node(node, inputs, ["y"], name="n", **extra, **attributes)],
                       [2, 5, 5], [2, None, None], {"W": W} if node == "Conv" else {})
    for dim in model.graph.output[0].type.tensor_type.shape.dim[2:]:
        dim.ClearField("dim_value")
    text = _error(model)
    assert f"error: node 'n' ({node}): {message}" in text, text


def test_a_bias_add_without_matmul_and_other_models_netc_cannot_read(tmp_path):
    model = make_model([helper.make_node("Add", ["x", "c"], ["y"], name="shift")], [3], [3], {"c": np.ones(3)})
    assert "node 'shift' (Add): netc's add joins two or more layer outputs" in _error(model)
    softmax_first = make_model([helper.make_node("Softmax", ["x"], ["s"], name="sm"),
                                helper.make_node("Relu", ["s"], ["y"], name="r")], [3], [3])
    assert "node 'sm' (Softmax): netc's softmax can only be the last layer" in _error(softmax_first)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf at all")
    result = netc_("import", bad)
    assert result.exit_code == 1 and f"{bad}: error: not a readable ONNX model" in result.output
    assert f"{tmp_path / 'none.onnx'}: error: no such file" in netc_("import", tmp_path / "none.onnx").output


def test_without_onnx_netc_imports_and_export_says_how_to_install(tmp_path):
    code = ("import sys; sys.modules['onnx'] = None\n"
            "import netc, netc.cli, netc.onnx\n"
            "from click.testing import CliRunner\n"
            "r = CliRunner().invoke(netc.cli.cli, ['export', 'models/xor.net', '--weights', sys.argv[1]])\n"
            "print(r.exit_code); print(r.output)\n")
    weights = tmp_path / "w.npz"
    np.savez(weights, W1=np.ones((2, 2)), b1=np.zeros(2), W2=np.ones((2, 1)), b2=np.zeros(1))
    from helpers import MODELS
    done = subprocess.run([sys.executable, "-c", code, str(weights)], capture_output=True, text=True,
                          cwd=MODELS.parent, check=True)
    assert done.stdout.startswith("1\n"), done.stdout + done.stderr
    assert "error: ONNX export and import need the onnx package" in done.stdout
    assert "hint: pip install 'netc[onnx]'" in done.stdout and "Traceback" not in done.stdout


def test_netc_export_then_run_the_file_with_onnx_runtime(tmp_path):
    from helpers import MODELS
    from onnx_helpers import BOOK_PARAMS
    out = tmp_path / "sc.onnx"
    result = netc_("export", MODELS / "simpleconv.net", "--weights", BOOK_PARAMS / "simpleconv.npz", "-o", out)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {out}: network simpleconv, 8 ONNX nodes, 433,890 parameters, opset 17")
    plan = netc.load(MODELS / "simpleconv.net")
    network = Network(plan.data)
    load_weights(BOOK_PARAMS / "simpleconv.npz", network)
    x = sample_inputs(plan.input_shape, 3)
    np.testing.assert_allclose(run_onnx(out, x), network.predict(x), **TOLERANCE)


def test_export_import_run_on_the_command_line_gives_the_books_numbers(tmp_path):
    """threelayer.net's weights are written in the file: no --weights needed to export.
    Its last layer is identity (netc run prints 0.31682708 0.69627909)."""
    from helpers import MODELS
    assert netc_("export", MODELS / "threelayer.net", "-o", tmp_path / "t.onnx").exit_code == 0
    assert netc_("import", tmp_path / "t.onnx").exit_code == 0
    assert (tmp_path / "t.net").read_text() == ("network threelayer\ninput 2\n"
                                                "affine 3 -> sigmoid -> affine 2 -> sigmoid -> affine 2 -> identity\n")
    result = netc_("run", tmp_path / "t.net", "--weights", tmp_path / "t.npz", "--input", "1.0,0.5")
    assert result.exit_code == 0
    # ONNX holds the weights in float32; `netc run` computes in float64.
    np.testing.assert_allclose([float(v) for v in result.output.split()], [0.31682708, 0.69627909], atol=1e-7)


def test_export_checks_the_weights_against_the_plan(tmp_path):
    plan = netc.compile("input 4\naffine 3 -> softmax\n")
    arrays = {"0.affine.W": np.ones((3, 4)), "0.affine.b": np.zeros(3)}
    with pytest.raises(netc.NetcError, match=r"array '0.affine.W' has shape \[3, 4\], the plan needs \[4, 3\]"):
        netc.export_onnx(plan, arrays, tmp_path / "m.onnx")
    with pytest.raises(netc.NetcError, match="no array '0.affine.b' for layer 0 'affine'"):
        netc.export_onnx(plan, {"0.affine.W": np.ones((4, 3))}, tmp_path / "m.onnx")


def test_an_integer_input_is_refused():
    model = make_model([helper.make_node("Relu", ["x"], ["y"])], [3], [3])
    model.graph.input[0].type.tensor_type.elem_type = TensorProto.UINT8
    model.graph.output[0].type.tensor_type.elem_type = TensorProto.UINT8
    assert "error: the input 'x' holds uint8; netc networks take real numbers" in _error(model)


def test_a_node_without_a_name_goes_by_its_output():
    model = make_model([helper.make_node("Floor", ["x"], ["y"])], [3], [3])
    assert "error: the Floor node making 'y': op type Floor has no netc layer" in _error(model)


def test_a_reshape_that_folds_the_batch_is_refused():
    model = make_model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="fold")], [2, 3, 3], [9])
    model.graph.initializer.append(numpy_helper.from_array(np.array([-1, 9], np.int64), "shape"))
    assert ("node 'fold' (Reshape): reshapes a batch of [2, 2, 3, 3] to [4, 9]; netc reshapes only to "
            "(N, features)" in _error(model))


def test_a_mean_over_height_and_width_is_an_average_pool():
    model = make_model([helper.make_node("ReduceMean", ["x", "axes"], ["m"], name="mean", keepdims=0),
                        helper.make_node("Softmax", ["m"], ["y"], name="s")], [3, 4, 5], [3])
    model.graph.initializer.append(numpy_helper.from_array(np.array([-1, 2], np.int64), "axes"))
    model.opset_import[0].version = 18
    imported = _matches_onnx_runtime(model, (3, 4, 5))
    assert imported.text == "network hand\ninput 3x4x5\navgpool 4x5 -> flatten -> softmax\n"
    over_channels = make_model([helper.make_node("ReduceMean", ["x"], ["y"], name="mean", axes=[1])],
                               [3, 4, 5], [1, 4, 5])
    assert "node 'mean' (ReduceMean): a mean over axes [1] of [3, 4, 5]" in _error(over_channels)


def test_a_matmul_over_a_sequence_is_refused():
    model = make_model([helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")], [5, 4], [5, 3],
                       {"W": np.ones((4, 3))})
    assert "node 'mm' (MatMul): multiplies a [5, 4] input by a [4, 3] weight" in _error(model)
