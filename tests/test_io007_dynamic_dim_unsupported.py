import pytest
from conftest import FIXTURES, codes, lint_text, rule

from onnxlint.engine import lint_file


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


@pytest.mark.parametrize("name, expected", [("yolov5n_dynamic_hw_cached_grid.onnx", ["IO007"]),
                                            ("yolov5n_dynamic_hw.onnx", []),
                                            ("yolov5n_dynamic_batch.onnx", [])])
def test_real_yolov5_exports_with_dynamic_height_and_width(name, expected):
    assert codes(lint_file(FIXTURES / name, [rule("IO007")])) == expected
