import onnx
import pytest
from conftest import FIXTURES, codes, lint_proto, lint_text

from onnxlint.core.registry import LintSettings
from onnxlint.rknn.targets import known_versions, resolve_target

TARGET = LintSettings(target=resolve_target("rk3588", known_versions()[-1]))


def depthwise(peaks, bn_scale=None, group=None):
    channels = len(peaks)
    weights = ", ".join(str(float(p)) for p in peaks)
    bn = ""
    if bn_scale is not None:
        scales = ", ".join(str(float(s)) for s in bn_scale)
        zeros = ", ".join("0.0" for _ in peaks)
        ones = ", ".join("1.0" for _ in peaks)
        bn = (f", float[{channels}] s = {{{scales}}}, float[{channels}] b = {{{zeros}}}, "
              f"float[{channels}] m = {{{zeros}}}, float[{channels}] v = {{{ones}}}")
    body = "c = Conv<group = %d>(x, w)\n y = BatchNormalization<epsilon = 0.0>(c, s, b, m, v)" % (group or channels) \
        if bn_scale is not None else "y = Conv<group = %d>(x, w)" % (group or channels)
    return f"""<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, {channels}, 4, 4] x) => (float[1, {channels}, 4, 4] y)
    <float[{channels}, 1, 1, 1] w = {{{weights}}}{bn}> {{
        {body}
    }}"""


def test_fail_narrow_channels(tmp_path):
    [finding] = lint_text(tmp_path, depthwise([0.001] * 3 + [1.0] * 17), "QT002", settings=TARGET).findings
    assert (finding.code, finding.location.node) == ("QT002", "Conv_0")
    assert finding.data["ratio"] == 1000.0 and finding.data["crushed_channels"] == 3
    assert finding.data["folded"] is None and "quantized_method='layer'" in finding.message


def test_fail_after_folding_batchnorm(tmp_path):
    # equal kernels, but the BatchNorm scales three channels down by 500
    text = depthwise([1.0] * 20, bn_scale=[0.002] * 3 + [1.0] * 17)
    [finding] = lint_text(tmp_path, text, "QT002", settings=TARGET).findings
    assert finding.data["folded"] == "BatchNormalization_1" and finding.data["ratio"] == pytest.approx(500.0)


@pytest.mark.parametrize("peaks", [
    [0.05] * 3 + [1.0] * 17,        # 20x: fine
    [0.0] * 3 + [1.0] * 17,         # dead channels lose nothing
    [1e-9] * 3 + [1.0] * 17,        # nearly dead too
    [0.001] * 2 + [1.0] * 3,        # too few channels to judge by a tenth
])
def test_pass(tmp_path, peaks):
    assert codes(lint_text(tmp_path, depthwise(peaks), "QT002", settings=TARGET)) == []


def test_pass_grouped_not_depthwise(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 20, 4, 4] x) => (float[1, 10, 4, 4] y) <float[10, 2, 1, 1] w = {0.001, 0.001, 0.001, 0.001, 1.0,
      1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}> {
        y = Conv<group = 10>(x, w)
    }"""
    assert codes(lint_text(tmp_path, text, "QT002", settings=TARGET)) == []


def test_pass_fixtures(tmp_path):
    for name in ("yolov8n_legacy_op12.onnx", "resnet_legacy_op13_dynbatch.onnx"):
        assert codes(lint_proto(tmp_path, onnx.load(str(FIXTURES / name)), "QT002", settings=TARGET)) == []
