import onnx
import pytest
from conftest import FIXTURES, codes, lint_proto, lint_text, rule

from onnxlint.core.engine import lint_file


def test_fail_reshape_pins_the_batch(tmp_path):
    # What the dynamo exporter writes for x.view(1, 3, 16) under a dynamic batch.
    text = """<ir_version: 8, opset_import: ["" : 18]>
    g (float[batch, 3, 4, 4] x) => (float[1, 3, 16] y) <int64[3] shape = {1, 3, 16}> { y = Reshape(x, shape) }"""
    [finding] = lint_text(tmp_path, text, "IO007").findings
    assert (finding.code, finding.location.node, finding.location.tensor) == ("IO007", "Reshape_0", "x")
    assert finding.data["dynamic_dims"] == ["x[0]"] and finding.data["probe_size"] == 256
    assert "cannot reshape [256, 3, 4, 4], 12288 elements, to [1, 3, 16], 48 elements" in finding.message


def test_fail_constant_grid_pins_height_and_width(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[1, 1, h, w] x) => (float[1, 1, h, w] y) {
        grid = Constant <value = float[1, 1, 2, 2] {0.0, 1.0, 2.0, 3.0}> ()
        y = Add(x, grid)
    }"""
    [finding] = lint_text(tmp_path, text, "IO007").findings
    assert finding.data["dynamic_dims"] == ["x[2]", "x[3]"]
    assert "Incompatible dimensions" in finding.message


def test_pass_truly_dynamic(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[n, 3, h, w] x) => (float[n, 3, h, w] y) { y = Relu(x) }"""
    assert codes(lint_text(tmp_path, text, "IO007")) == []


def test_pass_dims_that_must_agree_with_each_other(tmp_path):
    # Adding x to its own transpose needs h == w: a constraint between dims, not a pinned size.
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[1, 3, h, w] x) => (float[1, 3, h, w] y) { t = Transpose <perm = [0, 1, 3, 2]> (x)  y = Add(x, t) }"""
    assert codes(lint_text(tmp_path, text, "IO007")) == []


def test_skipped_when_the_declared_model_already_fails_inference(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[n, 4] x) => (float[n, 4] z) <float[n, 5] r> { r = Relu(x)  z = Identity(r) }"""
    report = lint_text(tmp_path, text, "IO007")
    assert report.findings == () and [s.code for s in report.rules_skipped] == ["IO007"]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("yolov5n_dynamic_hw_cached_grid.onnx", ["IO007"]),
        ("yolov5n_dynamic_hw.onnx", []),
        ("yolov5n_dynamic_batch.onnx", []),
    ],
)
def test_real_yolov5_exports_with_dynamic_height_and_width(name, expected):
    assert codes(lint_file(FIXTURES / name, [rule("IO007")])) == expected


def _conv_block(operand_shape=None) -> onnx.ModelProto:
    """Conv -> x*sigmoid(x) -> Add -> pool -> Flatten -> Gemm on [batch, 2, 8, 8]; the Add's second operand is the
    input itself, or a constant of `operand_shape`."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weights = {"w": np.ones((2, 2, 1, 1)), "b": np.zeros(2), "fc": np.ones((3, 2)), "fb": np.zeros(3)}
    if operand_shape is not None:
        weights["k"] = np.ones(operand_shape)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"]),
        helper.make_node("Sigmoid", ["c"], ["s"]),
        helper.make_node("Mul", ["c", "s"], ["m"]),
        helper.make_node("Add", ["m", "x" if operand_shape is None else "k"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "fc", "fb"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _probe(tmp_path, model):
    from onnxlint.analysis.probe import probe_dims
    from onnxlint.core.graph import build_graphs
    from onnxlint.core.model import load_model

    path = tmp_path / "probed.onnx"
    onnx.save(model, str(path))
    loaded = load_model(path)
    return probe_dims(loaded, build_graphs(loaded)[0])


def test_batch_polymorphic_graph_needs_no_uniform_run(tmp_path):
    """A conv net with only a dynamic batch is proved to run at any batch: no whole-model inference is made."""
    probe = _probe(tmp_path, _conv_block())
    assert probe.unsupported is None and "uniform" not in probe.__dict__
    assert codes(lint_proto(tmp_path, _conv_block(), "IO007")) == []


@pytest.mark.parametrize(
    "shape, pinned",
    [
        ((4, 2, 8, 8), True),  # a constant of batch 4 pins the batch
        ((1, 2, 8, 8), False),  # batch 1: broadcasts
        ((2, 8, 8), False),
    ],  # lower rank: never meets the batch axis
    ids=["batch 4", "batch 1", "lower rank"],
)
def test_constant_operand_against_the_batch(tmp_path, shape, pinned):
    probe = _probe(tmp_path, _conv_block(shape))
    assert (probe.unsupported is not None) == pinned
    assert ("uniform" in probe.__dict__) == pinned  # proved without a run when not pinned
    assert codes(lint_proto(tmp_path, _conv_block(shape), "IO007")) == (["IO007"] if pinned else [])


def test_pass_a_valid_range_is_not_a_fixed_size(tmp_path):
    # A BERT-style position table of 128 entries: the model runs at any length up to 128, not only at one size.
    # It fails at the uniform probe size (256) and runs at 96, so it is not reported.
    text = (
        """<ir_version: 8, opset_import: ["" : 17]>
    g (float[1, n] x) => (float[1, n] y) <float[1, 128] table = {"""
        + ", ".join(["0.5"] * 128)
        + """},
                                          int64[1] zero = {0}, int64[1] one = {1}> {
        shape = Shape(x)
        length = Gather(shape, one)
        positions = Slice(table, zero, length, one)
        y = Add(x, positions)
    }"""
    )
    assert codes(lint_text(tmp_path, text, "IO007")) == []


# An audio front end in miniature: onnx's STFT inference gives 16 bins (frame_length) where the one-sided spectrum
# has 9, so the mel MatMul fails onnx's inference at every size, while onnxruntime runs the model at any length.
STFT_FRONT_END = (
    """<ir_version: 8, opset_import: ["" : 17]>
g (float[batch, samples] x) => (float[batch, frames, 4] y)
  <float[16] window = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, int64 hop = {8}, int64[1] last = {2},
   float[9, 4] mel = {"""
    + ", ".join(["0.5"] * 36)
    + """}> {
    signal = Unsqueeze(x, last)
    spectrum = STFT(signal, hop, window)
    power = ReduceSumSquare <axes = [-1], keepdims = 0> (spectrum)
    y = MatMul(power, mel)
}"""
)
# The same front end's length bookkeeping: onnx's data propagation rejects [batch, 1] - [4] ("Invalid rank for Sub
# broadcasting: (256) vs (4)"), which onnx's inference of the Sub alone, and onnxruntime, accept.
LENGTH_INDICES = """<ir_version: 8, opset_import: ["" : 17]>
g (float[batch, samples] x, int64[batch] lengths) => (float[batch, 4] y)
  <int64[4] offsets = {1, 2, 3, 4}, int64[1] one = {1}> {
    ends = Unsqueeze(lengths, one)
    starts = Sub(ends, offsets)
    y = GatherElements <axis = 1> (x, starts)
}"""


def _runs_in_onnxruntime(model: onnx.ModelProto, size: int) -> bool:
    import numpy as np
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {"x": np.ones((size, size), np.float32), "lengths": np.full(size, size, np.int64)}
    session.run(None, {value.name: feeds[value.name] for value in session.get_inputs()})
    return True


@pytest.mark.parametrize(
    "text, node",
    [(STFT_FRONT_END, "MatMul"), (LENGTH_INDICES, "Sub")],
    ids=["size-independent conflict", "data propagation alone"],
)
def test_pass_a_failure_of_onnx_inference_that_the_size_does_not_cause(tmp_path, text, node):
    model = onnx.parser.parse_model(text)
    probe = _probe(tmp_path, model)
    assert (node, "") in probe.uniform.named  # onnx's inference fails at the probe size, naming the node...
    assert _runs_in_onnxruntime(model, 256)  # ...where onnxruntime runs the model
    assert probe.unsupported is None
    assert codes(lint_proto(tmp_path, model, "IO007")) == []


def test_fail_a_pinned_size_behind_a_failure_of_data_propagation(tmp_path):
    # The length bookkeeping above, then a constant of batch 4 added: data propagation's complaint is named first,
    # the Add that pins the batch is the finding.
    text = (
        """<ir_version: 8, opset_import: ["" : 17]>
    g (float[batch, samples] x, int64[batch] lengths) => (float[batch, 4] z)
      <int64[4] offsets = {1, 2, 3, 4}, int64[1] one = {1}, float[4, 4] bias = {"""
        + ", ".join(["0.5"] * 16)
        + """}> {
        ends = Unsqueeze(lengths, one)
        starts = Sub(ends, offsets)
        y = GatherElements <axis = 1> (x, starts)
        z = Add(y, bias)
    }"""
    )
    [finding] = lint_text(tmp_path, text, "IO007").findings
    assert finding.data["inference_message"].startswith("[ShapeInferenceError] Inference error(s): (op_type:Add)")
    assert "Incompatible dimensions" in finding.message and "Sub" not in finding.message
