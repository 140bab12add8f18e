import pytest
from conftest import codes, lint_proto, rule
from onnx import TensorProto, helper

from onnxlint.core.engine import lint_file


def _relu_model(output_name):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], [output_name])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [4])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@pytest.mark.parametrize("name", ["867", "onnx::Reshape_446"])
def test_fail_exporter_generated_names(tmp_path, name):
    [finding] = lint_proto(tmp_path, _relu_model(name), "IO004").findings
    assert (finding.code, finding.location.tensor) == ("IO004", name)


@pytest.mark.parametrize("name", ["output0", "logits", "y_867"])
def test_pass_chosen_names(tmp_path, name):
    assert codes(lint_proto(tmp_path, _relu_model(name), "IO004")) == []


def test_fail_on_real_legacy_export_without_output_names(fixture_path):
    report = lint_file(fixture_path("yolov5n_unnamed.onnx"), [rule("IO004")])
    assert [(f.code, f.location.tensor) for f in report.findings] == [("IO004", "882")]
