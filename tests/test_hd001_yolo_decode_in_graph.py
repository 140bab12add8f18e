from conftest import FIXTURES, codes, lint_text, rule
from mini_yolo import mini_yolo

from onnxlint.core.engine import lint_file
from onnxlint.core.registry import LintSettings
from onnxlint.rknn.targets import known_versions, resolve_target

RK3588 = LintSettings(target=resolve_target("rk3588", known_versions()[-1]))
TWO_LEVELS = [[10, 13], [30, 61]]


def test_fail_decode_in_graph_for_a_target(tmp_path):
    [finding] = lint_text(tmp_path, mini_yolo(2, TWO_LEVELS, strides=(8, 16)), "HD001", settings=RK3588).findings
    assert (finding.code, finding.location.node, finding.location.tensor) == ("HD001", "Conv_1", "c8")
    assert finding.data == {"rknn_outputs": ["c8", "c16"], "sigmoid_in_graph": True, "nc": 2, "strides": [8, 16]}
    assert "rknn.load_onnx(model=" in finding.fix and "outputs=['c8', 'c16']" in finding.fix


def test_pass_head_already_cut(tmp_path):
    text = mini_yolo(2, TWO_LEVELS, strides=(8, 16), outputs="training")
    assert codes(lint_text(tmp_path, text, "HD001", settings=RK3588)) == []


def test_pass_model_cut_at_the_head_convolutions(tmp_path):
    # The head is recognised from the outputs (inspect shows it), but the decode is not in the graph.
    text = mini_yolo(2, TWO_LEVELS, strides=(8, 16), outputs="cut")
    assert codes(lint_text(tmp_path, text, "HD001", settings=RK3588)) == []


def test_fail_dynamic_input_size_names_the_strides():
    # Height and width are dynamic; the strides are read at a concrete size instead of printing ?/?/?.
    [finding] = lint_file(FIXTURES / "yolov5n_dynamic_hw.onnx", [rule("HD001")], RK3588).findings
    assert "strides 8/16/32" in finding.message and finding.data["strides"] == [8, 16, 32]


def test_skipped_without_target(tmp_path):
    report = lint_text(tmp_path, mini_yolo(2, TWO_LEVELS, strides=(8, 16)), "HD001")
    assert report.findings == () and [s.code for s in report.rules_skipped] == ["HD001"]


def test_real_exports_name_their_head_convolutions():
    report = lint_file(FIXTURES / "yolov5n_dynamo_op18.onnx", [rule("HD001")], RK3588)
    assert [f.data["rknn_outputs"] for f in report.findings] == [["conv2d_57", "conv2d_58", "conv2d_59"]]
    assert codes(lint_file(FIXTURES / "resnet_legacy_op13_dynbatch.onnx", [rule("HD001")], RK3588)) == []
