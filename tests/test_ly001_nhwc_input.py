from conftest import codes, lint_text, rule

from onnxlint.core.engine import lint_file

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


def test_fail_nhwc_input_padded_and_clipped_before_the_transpose(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[1, 8, 8, 3] x) => (float[1, 3, 10, 10] y) <int64[8] pads = {0, 1, 1, 0, 0, 1, 1, 0}> {
        p = Pad(x, pads)
        s = Mul(p, scale)
        c = Clip(s, lo, hi)
        r = Relu(c)
        y = Transpose <perm = [0, 3, 1, 2]> (r)
    }"""
    text = text.replace("<int64[8] pads", "<float scale = {0.5}, float lo = {0.0}, float hi = {6.0}, int64[8] pads")
    [finding] = lint_text(tmp_path, text, "LY001").findings
    assert (finding.location.node, finding.location.tensor) == ("Transpose_4", "x")
    assert finding.data == {"shape": [1, 8, 8, 3], "channels": 3, "converted_by": "Transpose_4"}


def test_pass_nchw_model_starting_with_pad(tmp_path):
    # A real NCHW model whose first op is a Pad (a padded stem convolution): nothing to report.
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[1, 3, 8, 8] x, float[4, 3, 3, 3] w) => (float[1, 4, 8, 8] y) <int64[8] pads = {0, 0, 1, 1, 0, 0, 1, 1}> {
        p = Pad(x, pads)
        y = Conv(p, w)
    }"""
    assert codes(lint_text(tmp_path, text, "LY001")) == []
