from conftest import codes, lint_text, rule

from onnxlint.engine import lint_file

TRANSPOSE = """<ir_version: 8, opset_import: ["" : 17]>
g (float[{shape}] x) => (float[1, 3, 8, 8] y) {{
    c = Cast <to = 1> (x)
    y = Transpose <perm = [{perm}]> (c)
}}"""


def test_fail_nhwc_input_transposed_after_a_cast(tmp_path):
    text = TRANSPOSE.format(shape="1, 8, 8, 3", perm="0, 3, 1, 2")
    [finding] = lint_text(tmp_path, text, "LY001").findings
    assert (finding.code, finding.location.node, finding.location.tensor) == ("LY001", "Transpose_1", "x")
    assert finding.data == {"shape": [1, 8, 8, 3], "channels": 3, "converted_by": "Transpose_1"}


def test_pass_nchw_input(tmp_path):
    text = TRANSPOSE.format(shape="1, 3, 8, 8", perm="0, 1, 2, 3")
    assert codes(lint_text(tmp_path, text, "LY001")) == []


def test_fail_reshape_moving_a_size_one_channel(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[1, 28, 28, 1] x) => (float[1, 1, 28, 28] y) {
        s = Constant <value = int64[4] {1, 1, 28, 28}> ()
        y = Reshape(x, s)
    }"""
    [finding] = lint_text(tmp_path, text, "LY001").findings
    assert finding.data["channels"] == 1


def test_fail_real_export(fixture_path):
    report = lint_file(fixture_path("resnet_nhwc_input.onnx"), [rule("LY001")])
    assert [(f.code, f.location.tensor) for f in report.findings] == [("LY001", "input")]
