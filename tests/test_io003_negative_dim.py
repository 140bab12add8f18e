from conftest import codes, lint_proto
from onnx import TensorProto, helper


def _model(input_dims):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_dims)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_fail_minus_one_batch(tmp_path):
    [finding] = lint_proto(tmp_path, _model([-1, 3, 8, 8]), "IO003").findings
    assert (finding.code, finding.location.tensor) == ("IO003", "x")
    assert finding.data == {"shape": [-1, 3, 8, 8], "axes": [0]}


def test_pass_symbolic_batch(tmp_path):
    assert codes(lint_proto(tmp_path, _model(["batch", 3, 8, 8]), "IO003")) == []
