import pytest
from conftest import codes, lint_text, rule

from onnxlint.core.engine import lint_file

HEADER = """<ir_version: 8, opset_import: ["" : 17]>
g (float[1, 3, 8, 8] x) => (float[1, 4, 8, 8] y) <float[4, 3, 1, 1] w> {"""


def test_fail_divide_by_255(tmp_path):
    text = (
        HEADER
        + """
        k = Constant <value = float {255.0}> ()
        n = Div(x, k)
        y = Conv(n, w)
    }"""
    )
    [finding] = lint_text(tmp_path, text, "LY002").findings
    assert (finding.code, finding.location.node) == ("LY002", "Div_1")
    assert finding.data == {"mean_values": [0.0, 0.0, 0.0], "std_values": [255.0, 255.0, 255.0], "ops": ["Div_1"]}


def test_fail_imagenet_mean_std_in_0_1_range(tmp_path):
    # x/255, then (x - mean)/std with ImageNet statistics: RKNN's equivalent is mean*255, std*255.
    text = (
        HEADER
        + """
        k = Constant <value = float {255.0}> ()
        mean = Constant <value = float[1, 3, 1, 1] {0.485, 0.456, 0.406}> ()
        std = Constant <value = float[1, 3, 1, 1] {0.229, 0.224, 0.225}> ()
        a = Div(x, k)
        b = Sub(a, mean)
        n = Div(b, std)
        y = Conv(n, w)
    }"""
    )
    [finding] = lint_text(tmp_path, text, "LY002").findings
    assert finding.data["mean_values"] == pytest.approx([123.675, 116.28, 103.53], rel=1e-5)
    assert finding.data["std_values"] == pytest.approx([58.395, 57.12, 57.375], rel=1e-5)


def test_pass_raw_input_into_conv(tmp_path):
    assert codes(lint_text(tmp_path, HEADER + " y = Conv(x, w) }", "LY002")) == []


def test_pass_spatially_varying_constant_is_not_normalisation(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[1, 3, 2, 2] x) => (float[1, 4, 2, 2] y) <float[4, 3, 1, 1] w> {
        k = Constant <value = float[1, 1, 2, 2] {1.0, 2.0, 3.0, 4.0}> ()
        n = Mul(x, k)
        y = Conv(n, w)
    }"""
    assert codes(lint_text(tmp_path, text, "LY002")) == []


def test_fail_real_export(fixture_path):
    report = lint_file(fixture_path("yolov5n_norm_in_graph.onnx"), [rule("LY002")])
    assert [(f.code, f.data["std_values"]) for f in report.findings] == [("LY002", [255.0, 255.0, 255.0])]
