import onnx
import pytest
from conftest import codes, lint_proto, lint_text

RELU = """<ir_version: 8, opset_import: ["" : 17]>
g (float[batch, 4] x) => (float[{out}, 4] y) {{ y = Relu(x) }}"""


def test_fail_output_batch_named_differently(tmp_path):
    [finding] = lint_text(tmp_path, RELU.format(out="batch_size"), "IO001").findings
    assert (finding.code, finding.location.tensor) == ("IO001", "y")
    assert finding.data == {"axis": 0, "declared": "batch_size", "computed": "batch", "input": "x", "input_axis": 0}


def test_fail_output_batch_unnamed(tmp_path):
    [finding] = lint_text(tmp_path, RELU.format(out="?"), "IO001").findings
    assert finding.data["declared"] is None


def test_pass_same_name(tmp_path):
    assert codes(lint_text(tmp_path, RELU.format(out="batch"), "IO001")) == []


def test_pass_symbol_the_graph_does_not_tie_to_an_input(tmp_path):
    # NonZero's output length is data-dependent: a fresh name is right there.
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[batch] x) => (int64[1, n] y) { y = NonZero(x) }"""
    assert codes(lint_text(tmp_path, text, "IO001")) == []


def test_fail_real_export_whose_output_batch_was_renamed(tmp_path, fixture_path):
    import onnx

    model = onnx.load(str(fixture_path("resnet_legacy_op13_dynbatch.onnx")))
    model.graph.output[0].type.tensor_type.shape.dim[0].dim_param = "batch_size"
    [finding] = lint_proto(tmp_path, model, "IO001").findings
    assert finding.data == {"axis": 0, "declared": "batch_size", "computed": "batch", "input": "input", "input_axis": 0}


def test_pass_real_exports_with_dynamic_batch(fixture_path):
    from conftest import rule

    from onnxlint.core.engine import lint_file

    for name in ("resnet_legacy_op13_dynbatch.onnx", "resnet_dynamo_op18_dynbatch.onnx", "yolov5n_dynamic_batch.onnx"):
        assert codes(lint_file(fixture_path(name), [rule("IO001")])) == [], name


@pytest.mark.parametrize(
    "source, declared",
    [
        ("unk__316", "unk__317"),  # tf2onnx
        ("p2o.DynamicDimension.0", "p2o.DynamicDimension.3"),  # paddle2onnx
        ("DynamicDimension.1", "ConvTranspose_459_o0__d2"),  # paddle2onnx 2
        ("unk__2", "Reluy_dim_0"),  # torch's invented output name
        ("unk__5", "?"),
    ],
)
def test_pass_names_nobody_chose(tmp_path, source, declared):
    """Issue 13: exporters invent dim names; when neither side was named by a person, there is no promise to break."""
    assert codes(lint_proto(tmp_path, _relu(source, declared), "IO001")) == []


@pytest.mark.parametrize(
    "source, declared",
    [("batch", "unk__317"), ("unk__316", "batch"), ("input_dynamic_axes_1", "output_dynamic_axes_1")],
)
def test_fail_when_one_name_was_chosen(tmp_path, source, declared):
    [finding] = lint_proto(tmp_path, _relu(source, declared), "IO001").findings
    assert (finding.data["declared"], finding.data["computed"]) == (declared, source)


def _relu(source: str, declared: str) -> onnx.ModelProto:
    """y = Relu(x) with x's axis 0 named `source` and y's named `declared` ('?': unnamed). Built with onnx.helper:
    the text parser of onnx < 1.19 takes no dotted or quoted dim names."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [source, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None if declared == "?" else declared, 4])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
